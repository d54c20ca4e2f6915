"""Lily: low-rank interconnected adapters (a shared router over B experts)."""

from harness.methods._base import Method

METHOD = Method(
    name="lily",
    config_class="LilyConfig",
    fixed={"r": 2, "stride_A": 1, "num_B": 2},
    non_identity={"init_weights": False},
)
