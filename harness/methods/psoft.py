"""PSOFT."""

from harness.methods._base import Method

METHOD = Method(
    name="psoft",
    config_class="PsoftConfig",
    fixed={"r": 4, "psoft_alpha": 4},
    non_identity={"init_weights": False},
)
