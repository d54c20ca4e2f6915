"""Methods whose forward needs ``task_ids`` (one task per example): the batch carries task 0.

peft's multitask prompt tuning and Poly refuse a forward without ``task_ids``; a user's collator
adds them, so the method's attach step adds them to the batch (and the repro script does the same).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.methods._base import Method
from harness.plugin import Scene, Stage


@dataclass(frozen=True)
class TaskIdsMethod(Method):
    def on_attach(self, stage: Stage) -> None:
        import torch

        super().on_attach(stage)
        if stage.batch is not None and "input_ids" in stage.batch:
            rows = stage.batch["input_ids"].shape[0]
            stage.batch["task_ids"] = torch.zeros(rows, dtype=torch.long)

    def emit_attach(self, scene: Scene) -> str:
        return "\n".join(
            [
                super().emit_attach(scene),
                f"    # {self.name}'s forward needs task_ids: every example is task 0",
                '    batch["task_ids"] = torch.zeros(batch["input_ids"].shape[0], dtype=torch.long)',
            ]
        )
