"""Adaption prompt (LLaMA-Adapter): gated prompts in the top attention layers.

Its gate starts at zero by design, so the prompts get no gradient at step one (the gate does);
peft has no non-identity option for it, so the gradients check asks for a gradient somewhere.
peft implements it by replacing attention modules, not with tuner layers."""

from harness.methods._base import Method

METHOD = Method(
    name="adaption_prompt",
    config_class="AdaptionPromptConfig",
    targets=None,
    fixed={"adapter_len": 4, "adapter_layers": 2},
    gradients="any",
    gradients_why="the adaption gate starts at zero by design: the prompts get no gradient at step one",
    tuner_layers=False,
)
