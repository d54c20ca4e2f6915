"""PEANuT: a small non-linear network of the frozen weight as the update."""

from harness.methods._base import Method

METHOD = Method(
    name="peanut",
    config_class="PeanutConfig",
    fixed={"r": 2, "depth": 0, "act_fn": "relu"},
    non_identity={"init_weights": False},
)
