"""`TrainingArguments(gradient_checkpointing=True, gradient_checkpointing_kwargs=...)` and a real Trainer.

transformers 5 names these `activation_checkpointing*` (old names are deprecated aliases).
"""

from __future__ import annotations

from typing import Any

from harness.checkpointing._base import CheckpointingPath, checkpoint_kwargs
from harness.dsl.schema import CheckpointingSpec


class TrainerPath(CheckpointingPath):
    name = "trainer"

    def training_arguments(self, spec: CheckpointingSpec, fields: set[str]) -> dict[str, Any]:
        use_new_name = spec.api == "activation_checkpointing_enable" or (
            spec.api == "auto" and "activation_checkpointing" in fields
        )
        prefix = "activation_checkpointing" if use_new_name else "gradient_checkpointing"
        arguments: dict[str, Any] = {prefix: True}
        kwargs = checkpoint_kwargs(spec)
        if kwargs is not None:
            arguments[f"{prefix}_kwargs"] = kwargs
        return arguments


PATH = TrainerPath()
