"""A checkpointing path switches gradient checkpointing on at one point of the pipeline.

Each path is a plugin (harness/plugin.py) that acts at the one point where its users switch
checkpointing on (before or after the adapter is attached, inside prepare_model_for_kbit_training,
in the Trainer's arguments), and writes the same call for the repro script; no stage and no
emitter needs to know which path is active.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.plugin import Plugin, Scene

if TYPE_CHECKING:
    from harness.dsl.schema import CheckpointingSpec, Scenario

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


class CheckpointingPath(Plugin):
    name = "off"
    # The path is an argument of the Trainer: a variant on it runs the Trainer unless told otherwise.
    implies_trainer = False

    def problem(self, scenario: Scenario) -> str | None:
        """Why ``scenario`` cannot take this path (checked when it loads); None when it can."""
        return None

    def phase(self, point: str) -> str:
        return "enable-checkpointing"

    def prepare_kwargs(self, spec: CheckpointingSpec) -> dict[str, Any]:
        """Keywords for prepare_model_for_kbit_training."""
        return {}

    def training_arguments(self, spec: CheckpointingSpec, fields: set[str]) -> dict[str, Any]:
        """Keywords for transformers.TrainingArguments (``fields``: the names it accepts)."""
        return {}

    def emit_training_arguments(self, scene: Scene) -> str | None:
        """Lines that put this path's keywords into the script's ``arguments`` (``fields`` in scope)."""
        return None


OFF = CheckpointingPath()
