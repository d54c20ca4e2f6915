"""BEFT."""

from harness.methods._base import Method

METHOD = Method(
    name="beft",
    config_class="BeftConfig",
    non_identity={"init_weights": False},
)
