"""LoRA with rank-stabilised scaling (alpha / sqrt(r))."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-rslora",
    config_class="LoraConfig",
    fixed={"use_rslora": True},
    non_identity={"init_lora_weights": False},
)
