"""`prepare_model_for_kbit_training(model, use_gradient_checkpointing=True, gradient_checkpointing_kwargs=...)`."""

from __future__ import annotations

from typing import Any

from harness.checkpointing._base import CheckpointingPath, checkpoint_kwargs
from harness.dsl.schema import CheckpointingSpec


class KbitPrepare(CheckpointingPath):
    name = "kbit-prepare"

    def prepare_kwargs(self, spec: CheckpointingSpec) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"use_gradient_checkpointing": True}
        gc_kwargs = checkpoint_kwargs(spec)
        if gc_kwargs is not None:
            kwargs["gradient_checkpointing_kwargs"] = gc_kwargs
        return kwargs


PATH = KbitPrepare()
