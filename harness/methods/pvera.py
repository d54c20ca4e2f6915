"""PVeRA: probabilistic VeRA (shared random projections, all targets one shape class)."""

from harness.methods._base import Method

METHOD = Method(
    name="pvera",
    config_class="PveraConfig",
    fixed={"r": 8},
    non_identity={"init_weights": False},
)
