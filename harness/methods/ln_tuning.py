"""LN tuning: trains copies of the norm layers; peft's own defaults pick them, not the family's projections."""

from harness.methods._base import Method

METHOD = Method(
    name="ln_tuning",
    config_class="LNTuningConfig",
    targets=None,
)
