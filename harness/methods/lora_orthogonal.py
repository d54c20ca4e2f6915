"""LoRA with orthogonal A and B initialisation (non-zero, identity by subtraction)."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-orthogonal",
    config_class="LoraConfig",
    fixed={"init_lora_weights": "orthogonal"},
)
