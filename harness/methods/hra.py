"""HRA: a chain of Householder reflections per target."""

from harness.methods._base import Method

METHOD = Method(
    name="hra",
    config_class="HRAConfig",
    non_identity={"init_weights": False},
)
