"""Adaption prompt (LLaMA-Adapter): gated prompts in the top attention layers.

Its gate starts at zero by design, so the prompts get no gradient at step one; peft has no
non-identity option for it (the catalog records that as a silent gradients check)."""

from harness.methods._base import Method

METHOD = Method(
    name="adaption_prompt",
    config_class="AdaptionPromptConfig",
    targets=None,
    fixed={"adapter_len": 4, "adapter_layers": 2},
)
