"""LoRA plus trainable token rows of the input embedding (ids 3-63, see trainable_tokens)."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-trainable-tokens",
    config_class="LoraConfig",
    fixed={"trainable_token_indices": list(range(3, 64))},
    non_identity={"init_lora_weights": False},
)
