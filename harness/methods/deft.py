"""DEFT."""

from harness.methods._base import Method

METHOD = Method(
    name="deft",
    config_class="DeftConfig",
    non_identity={"init_weights": False},
)
