"""Activated LoRA: the adapter acts only from the last occurrence of its invocation tokens on.

A batch without them trains nothing, so the attach step writes the invocation tokens into the
middle of every example (and of its labels), as a user's prompt template would.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.methods._base import Method
from harness.plugin import Scene, Stage

INVOCATION = [5, 6]  # ordinary ids of every tiny vocabulary (families/_base.py)


@dataclass(frozen=True)
class ActivatedLora(Method):
    def on_attach(self, stage: Stage) -> None:
        import torch

        super().on_attach(stage)
        if stage.batch is None:
            return
        tokens = torch.tensor(INVOCATION, dtype=torch.long)
        for key in ("input_ids", "labels"):
            ids = stage.batch.get(key)
            if isinstance(ids, torch.Tensor) and ids.dim() == 2:
                start = ids.shape[1] // 2
                ids[:, start : start + len(INVOCATION)] = tokens

    def emit_attach(self, scene: Scene) -> str:
        return "\n".join(
            [
                super().emit_attach(scene),
                "    # aLoRA acts only after its invocation tokens: every example carries them mid-sequence",
                f"    invocation = torch.tensor({INVOCATION!r}, dtype=torch.long)",
                '    for key in ("input_ids", "labels"):',
                "        ids = batch.get(key)",
                "        if isinstance(ids, torch.Tensor) and ids.dim() == 2:",
                "            start = ids.shape[1] // 2",
                f"            ids[:, start : start + {len(INVOCATION)}] = invocation",
            ]
        )


METHOD = ActivatedLora(
    name="lora-alora",
    config_class="LoraConfig",
    fixed={"alora_invocation_tokens": INVOCATION},
    non_identity={"init_lora_weights": False},
)
