"""Checkpointing paths: each way users switch gradient checkpointing on."""

from harness.registry import Registry

PATHS: Registry = Registry(
    "checkpointing path",
    {
        "before-wrap": "harness.checkpointing.model_api:BEFORE_WRAP",
        "after-wrap": "harness.checkpointing.model_api:AFTER_WRAP",
        "kbit-prepare": "harness.checkpointing.kbit_prepare:PATH",
        "trainer": "harness.checkpointing.trainer:PATH",
    },
)
