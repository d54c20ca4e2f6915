"""FRoD."""

from harness.methods._base import Method

METHOD = Method(
    name="frod",
    config_class="FrodConfig",
    fixed={"sparse_rate": 0.01},
    non_identity={"init_weights": False},
)
