"""OLoRA: LoRA initialised from a QR decomposition of each weight (A and B non-zero)."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-olora",
    config_class="LoraConfig",
    fixed={"init_lora_weights": "olora"},
)
