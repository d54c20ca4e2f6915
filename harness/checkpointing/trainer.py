"""`TrainingArguments(gradient_checkpointing=True, gradient_checkpointing_kwargs=...)` and a real Trainer.

transformers 5 names these `activation_checkpointing*` (old names are deprecated aliases).
"""

from __future__ import annotations

from typing import Any

from harness.checkpointing._base import CheckpointingPath, checkpoint_kwargs
from harness.dsl.schema import CheckpointingSpec, Scenario
from harness.plugin import Scene

NEW_PREFIX, OLD_PREFIX = "activation_checkpointing", "gradient_checkpointing"


class TrainerPath(CheckpointingPath):
    name = "trainer"
    implies_trainer = True

    def problem(self, scenario: Scenario) -> str | None:
        if scenario.steps.runner == "manual":
            return "checkpointing.via 'trainer' needs steps.runner 'trainer' (or leave runner unset)"
        return None

    def training_arguments(self, spec: CheckpointingSpec, fields: set[str]) -> dict[str, Any]:
        use_new_name = spec.api == "activation_checkpointing_enable" or (spec.api == "auto" and NEW_PREFIX in fields)
        prefix = NEW_PREFIX if use_new_name else OLD_PREFIX
        arguments: dict[str, Any] = {prefix: True}
        kwargs = checkpoint_kwargs(spec)
        if kwargs is not None:
            arguments[f"{prefix}_kwargs"] = kwargs
        return arguments

    def emit_training_arguments(self, scene: Scene) -> str:
        from harness.report.repro.inline import literal

        spec = scene.scenario.checkpointing
        kwargs = checkpoint_kwargs(spec)
        pad = "        "
        if spec.api == "auto":
            lines = [
                f"{pad}# transformers 5 names these {NEW_PREFIX}*; older ones {OLD_PREFIX}*",
                f'{pad}prefix = "{NEW_PREFIX}" if "{NEW_PREFIX}" in fields else "{OLD_PREFIX}"',
            ]
        else:
            prefix = NEW_PREFIX if spec.api == "activation_checkpointing_enable" else OLD_PREFIX
            lines = [f"{pad}prefix = {prefix!r}"]
        lines.append(f"{pad}arguments[prefix] = True")
        if kwargs is not None:
            lines.append(f'{pad}arguments[prefix + "_kwargs"] = {literal(kwargs)}')
        return "\n".join(lines)


PATH = TrainerPath()
