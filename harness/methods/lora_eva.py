"""EVA: LoRA whose A is initialised from the SVD of each target's input activations.

peft leaves the EVA weights uninitialised in get_peft_model; ``initialize_lora_eva_weights``
runs the model over data right after it (here: the variant's own batch). B stays zero, so EVA
starts as an identity like plain LoRA: A gets no gradient at step one.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.methods._base import Method
from harness.plugin import Scene, Stage


@dataclass(frozen=True)
class Eva(Method):
    def on_after_attach(self, stage: Stage) -> None:
        from peft import initialize_lora_eva_weights

        initialize_lora_eva_weights(stage.model, dataloader=[stage.batch], show_progress_bar=False)

    def emit_after_attach(self, scene: Scene) -> str:
        return "\n".join(
            [
                "    # EVA: initialise A from the activations of the batch (B stays zero)",
                "    peft.initialize_lora_eva_weights(model, dataloader=[batch], show_progress_bar=False)",
            ]
        )


METHOD = Eva(
    name="lora-eva",
    config_class="LoraConfig",
    fixed={"init_lora_weights": "eva"},
    gradients="any",
    gradients_why="EVA initialises A and leaves B at zero by design: A gets no gradient at step one",
)
