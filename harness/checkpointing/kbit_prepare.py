"""`prepare_model_for_kbit_training(model, use_gradient_checkpointing=True, gradient_checkpointing_kwargs=...)`."""

from __future__ import annotations

from typing import Any

from harness.checkpointing._base import CheckpointingPath, checkpoint_kwargs
from harness.dsl.schema import CheckpointingSpec, Scenario

KBIT_PREPARE = "prepare_model_for_kbit_training"


class KbitPrepare(CheckpointingPath):
    name = "kbit-prepare"

    def problem(self, scenario: Scenario) -> str | None:
        if not scenario.quantization.prepare:
            return (
                "checkpointing.via 'kbit-prepare' needs quantization.prepare "
                "(prepare_model_for_kbit_training or prepare_model_for_int8_training)"
            )
        return None

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        # The path is a keyword of prepare_model_for_kbit_training: it implies the call.
        if not fields.get("quantization", {}).get("prepare"):
            fields.setdefault("quantization", {})["prepare"] = KBIT_PREPARE

    def prepare_kwargs(self, spec: CheckpointingSpec) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"use_gradient_checkpointing": True}
        gc_kwargs = checkpoint_kwargs(spec)
        if gc_kwargs is not None:
            kwargs["gradient_checkpointing_kwargs"] = gc_kwargs
        return kwargs


PATH = KbitPrepare()
