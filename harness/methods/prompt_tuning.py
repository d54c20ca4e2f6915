from harness.methods._base import Method

METHOD = Method(
    name="prompt_tuning",
    config_class="PromptTuningConfig",
    targets=None,
    derived=lambda scenario: {"num_virtual_tokens": 4},
)
