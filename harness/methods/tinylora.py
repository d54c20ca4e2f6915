"""TinyLoRA: peft's own tests make it non-identity with a uniform init."""

from harness.methods._base import Method

METHOD = Method(
    name="tinylora",
    config_class="TinyLoraConfig",
    non_identity={"init_weights": "uniform"},
)
