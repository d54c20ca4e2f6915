from harness.methods._base import Method

METHOD = Method(
    name="prefix_tuning",
    config_class="PrefixTuningConfig",
    targets=None,
    derived=lambda scenario: {"num_virtual_tokens": 4},
)
