"""`model.gradient_checkpointing_enable(...)` before or after wrapping with peft.

transformers 5 renamed it `activation_checkpointing_enable` (the old name is a deprecated alias);
``api: auto`` calls the newer name when the installed version has it, and a scenario can force
either name to reproduce what a given recipe calls.
"""

from __future__ import annotations

from harness.checkpointing._base import KWARGS_PARAMETER, CheckpointingPath, checkpoint_kwargs
from harness.dsl.schema import CheckpointingSpec
from harness.plugin import Scene, Stage

NEW_NAME, OLD_NAME = "activation_checkpointing_enable", "gradient_checkpointing_enable"


def enable(stage: Stage) -> None:
    spec = stage.scenario.checkpointing
    name = spec.api
    if name == "auto":
        name = NEW_NAME if hasattr(stage.model, NEW_NAME) else OLD_NAME
    stage.effective["checkpoint_api"] = name
    method = getattr(stage.model, name)
    kwargs = checkpoint_kwargs(spec)
    if kwargs is None:
        method()
    else:
        method(**{KWARGS_PARAMETER[name]: kwargs})


def enable_code(spec: CheckpointingSpec, recorded_api: str | None) -> str:
    """The same call as :func:`enable`, under the name the run used (or chosen as it chose)."""
    from harness.report.repro.inline import literal

    kwargs = checkpoint_kwargs(spec)
    api = spec.api if spec.api != "auto" else recorded_api

    def call(name: str, indent: str) -> str:
        arguments = "" if kwargs is None else f"{KWARGS_PARAMETER[name]}={literal(kwargs)}"
        return f"{indent}model.{name}({arguments})"

    if api in KWARGS_PARAMETER:
        return call(api, "    ")
    # Not recorded (the run failed before): whichever name the installed transformers has.
    return "\n".join(
        [
            f'    if hasattr(model, "{NEW_NAME}"):  # transformers 5 renamed the switch',
            call(NEW_NAME, "        "),
            "    else:",
            call(OLD_NAME, "        "),
        ]
    )


class BeforeWrap(CheckpointingPath):
    name = "before-wrap"

    def on_before_attach(self, stage: Stage) -> None:
        enable(stage)

    def emit_before_attach(self, scene: Scene) -> str:
        code = enable_code(scene.scenario.checkpointing, scene.recorded("checkpoint_api"))
        return "    # on the base model, before the adapter is attached\n" + code


class AfterWrap(CheckpointingPath):
    name = "after-wrap"

    def on_after_attach(self, stage: Stage) -> None:
        enable(stage)

    def emit_after_attach(self, scene: Scene) -> str:
        code = enable_code(scene.scenario.checkpointing, scene.recorded("checkpoint_api"))
        return "    # on the model the adapter was attached to\n" + code


BEFORE_WRAP = BeforeWrap()
AFTER_WRAP = AfterWrap()
