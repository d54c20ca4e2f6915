"""PiSSA: LoRA initialised from the principal singular vectors of each weight (A and B non-zero)."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-pissa",
    config_class="LoraConfig",
    fixed={"init_lora_weights": "pissa"},
)
