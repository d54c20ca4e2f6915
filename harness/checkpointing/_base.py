"""A checkpointing path switches gradient checkpointing on at one point of the pipeline.

The pipeline calls every hook of the selected path in order; each path overrides the one hook
where its users switch checkpointing on, so no stage needs to know which path is active.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.dsl.schema import CheckpointingSpec

KWARGS_PARAMETER = {
    "activation_checkpointing_enable": "activation_checkpointing_kwargs",
    "gradient_checkpointing_enable": "gradient_checkpointing_kwargs",
}


def checkpoint_kwargs(spec: CheckpointingSpec) -> dict[str, Any] | None:
    """The checkpoint() keywords the scenario asks for; None when it leaves all of them unset."""
    kwargs = dict(spec.kwargs)
    if spec.use_reentrant is not None:
        kwargs["use_reentrant"] = spec.use_reentrant
    return kwargs or None


class CheckpointingPath:
    name = "off"

    def before_attach(self, model: Any, spec: CheckpointingSpec, effective: dict[str, Any]) -> None:
        """Called on the base model before the adapter is attached."""

    def after_attach(self, model: Any, spec: CheckpointingSpec, effective: dict[str, Any]) -> None:
        """Called on the model the adapter was attached to (a PeftModel for get_peft_model)."""

    def prepare_kwargs(self, spec: CheckpointingSpec) -> dict[str, Any]:
        """Keywords for prepare_model_for_kbit_training."""
        return {}

    def training_arguments(self, spec: CheckpointingSpec, fields: set[str]) -> dict[str, Any]:
        """Keywords for transformers.TrainingArguments (``fields``: the names it accepts)."""
        return {}


OFF = CheckpointingPath()
