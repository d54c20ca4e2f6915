"""ShadowPEFT: a small parallel shadow network riding the decoder loop; it wraps whole decoder
blocks, so peft's own default (every block) is the target, not the family's projections."""

from harness.methods._base import Method

METHOD = Method(
    name="shadow",
    config_class="ShadowConfig",
    targets=None,
    non_identity={"init_weights": False},
)
