"""MiCA: LoRA initialised from the minor singular components (only B trains)."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-mica",
    config_class="LoraConfig",
    fixed={"init_lora_weights": "mica"},
)
