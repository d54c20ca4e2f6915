"""P-tuning: virtual tokens produced by a small prompt encoder."""

from harness.methods._base import Method

METHOD = Method(
    name="p_tuning",
    config_class="PromptEncoderConfig",
    targets=None,
    derived=lambda scenario: {"num_virtual_tokens": 4, "encoder_hidden_size": 32},
)
