"""VeLoRA: LoRA with compressed activations kept for the backward (default VeloraConfig)."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-velora",
    config_class="LoraConfig",
    fixed={"velora_config": {}},
    non_identity={"init_lora_weights": False},
)
