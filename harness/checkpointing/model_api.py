"""`model.gradient_checkpointing_enable(...)` before or after wrapping with peft.

transformers 5 renamed it `activation_checkpointing_enable` (the old name is a deprecated alias);
``api: auto`` calls the newer name when the installed version has it, and a scenario can force
either name to reproduce what a given recipe calls.
"""

from __future__ import annotations

from typing import Any

from harness.checkpointing._base import KWARGS_PARAMETER, CheckpointingPath, checkpoint_kwargs
from harness.dsl.schema import CheckpointingSpec


def enable(model: Any, spec: CheckpointingSpec, effective: dict[str, Any]) -> None:
    name = spec.api
    if name == "auto":
        has_new_name = hasattr(model, "activation_checkpointing_enable")
        name = "activation_checkpointing_enable" if has_new_name else "gradient_checkpointing_enable"
    effective["checkpoint_api"] = name
    method = getattr(model, name)
    kwargs = checkpoint_kwargs(spec)
    if kwargs is None:
        method()
    else:
        method(**{KWARGS_PARAMETER[name]: kwargs})


class BeforeWrap(CheckpointingPath):
    name = "before-wrap"

    def before_attach(self, model: Any, spec: CheckpointingSpec, effective: dict[str, Any]) -> None:
        enable(model, spec, effective)


class AfterWrap(CheckpointingPath):
    name = "after-wrap"

    def after_attach(self, model: Any, spec: CheckpointingSpec, effective: dict[str, Any]) -> None:
        enable(model, spec, effective)


BEFORE_WRAP = BeforeWrap()
AFTER_WRAP = AfterWrap()
