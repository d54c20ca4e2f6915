"""LoRA with a trainable bias on the B projection (lora_bias=True)."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-bias",
    config_class="LoraConfig",
    fixed={"lora_bias": True},
    non_identity={"init_lora_weights": False},
)
