"""DeepSpeed ZeRO: ``TrainingArguments(deepspeed=config)`` or ``deepspeed.initialize`` in a manual loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.distributed._base import Strategy
from harness.plugin import Scene
from harness.report.repro.inline import literal

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario


def config(scenario: Scenario) -> dict[str, Any]:
    """The DeepSpeed config a user writes for this variant (batch sizes as the harness trains)."""
    options = scenario.distributed.deepspeed
    zero: dict[str, Any] = {"stage": options.zero_stage}
    if options.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu"}
    if options.offload_param:
        zero["offload_param"] = {"device": "cpu"}
    precision = scenario.precision
    return {
        "train_micro_batch_size_per_gpu": scenario.inputs.batch_size,
        "gradient_accumulation_steps": 1,
        "zero_optimization": zero,
        "bf16": {"enabled": precision.dtype == "bf16"},
        "fp16": {"enabled": precision.dtype == "fp16"},
    }


class DeepSpeed(Strategy):
    name = "deepspeed"
    requires = ("deepspeed",)
    shards_parameters = "DeepSpeed ZeRO partitions gradients (and, at stage 3, parameters)"

    def problem(self, scenario: Scenario) -> str | None:
        options = scenario.distributed.deepspeed
        if options.offload_param and options.zero_stage != 3:
            return "distributed.deepspeed.offload_param needs zero_stage 3"
        return None

    def wrap(self, model: Any, scenario: Scenario, device: str) -> Any:
        import deepspeed

        parameters = [p for p in model.parameters() if p.requires_grad]
        engine, *_ = deepspeed.initialize(model=model, model_parameters=parameters, config=_with_optimizer(scenario))
        return engine

    def training_arguments(self, scenario: Scenario, fields: set[str]) -> dict[str, Any]:
        return {"deepspeed": {**config(scenario), "train_micro_batch_size_per_gpu": "auto"}}

    def emit_wrap(self, scene: Scene) -> str | None:
        return "\n".join(
            [
                "    import deepspeed",
                "",
                "    parameters = [p for p in model.parameters() if p.requires_grad]",
                f"    ds_config = {literal(_with_optimizer(scene.scenario), 4)}",
                "    model, *_ = deepspeed.initialize(model=model, model_parameters=parameters, config=ds_config)",
            ]
        )

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "distributed.deepspeed.zero_stage", draw(first(2, [3])), 2)


def _with_optimizer(scenario: Scenario) -> dict[str, Any]:
    steps = scenario.steps
    optimizer = {"type": "AdamW" if steps.optimizer == "adamw" else "SGD", "params": {"lr": steps.lr}}
    return {**config(scenario), "optimizer": optimizer}


STRATEGY = DeepSpeed()
