"""PEFT methods: which peft config class builds each adapter, and its non-identity init."""

from harness.registry import Registry

METHODS: Registry = Registry(
    "PEFT method",
    {
        "none": "harness.methods.none:METHOD",
        "lora": "harness.methods.lora:METHOD",
        "dora": "harness.methods.dora:METHOD",
        "ia3": "harness.methods.ia3:METHOD",
        "loha": "harness.methods.loha:METHOD",
        "lokr": "harness.methods.lokr:METHOD",
        "adalora": "harness.methods.adalora:METHOD",
        "vera": "harness.methods.vera:METHOD",
        "prefix_tuning": "harness.methods.prefix_tuning:METHOD",
        "prompt_tuning": "harness.methods.prompt_tuning:METHOD",
    },
)
