"""DeepSpeed ZeRO: ``TrainingArguments(deepspeed=config)`` or ``deepspeed.initialize`` in a manual loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.distributed._base import Strategy
from harness.families._base import Unsupported
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


def trainer_config(scenario: Scenario) -> dict[str, Any]:
    """The config handed to TrainingArguments: what the Trainer sets itself is "auto", as its docs write it."""
    return {
        **config(scenario),
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
    }


class DeepSpeed(Strategy):
    name = "deepspeed"
    own_options = ("deepspeed",)
    requires = ("deepspeed",)
    shards_parameters = "DeepSpeed ZeRO partitions gradients (and, at stage 3, parameters)"

    def problem(self, scenario: Scenario) -> str | None:
        options = scenario.distributed.deepspeed
        if options.offload_param and options.zero_stage != 3:
            return "distributed.deepspeed.offload_param needs zero_stage 3"
        return None

    # the engine runs backward and the step itself (engine.backward(loss), engine.step())
    owns_step = True

    def available(self) -> None:
        """A stack without deepspeed cannot run the variant: skipped, saying so (as a backend's package)."""
        import importlib.util

        if importlib.util.find_spec("deepspeed") is None:
            raise Unsupported("deepspeed is not installed (distributed strategy 'deepspeed')")

    def wrap(self, model: Any, scenario: Scenario, device: str) -> Any:
        self.available()
        import deepspeed

        from harness.execution.training import _optimizer

        # a torch optimizer handed to the engine, as users do; a config optimizer would JIT-compile
        # DeepSpeed's fused kernels first
        optimizer = _optimizer(scenario, [p for p in model.parameters() if p.requires_grad])
        engine, *_ = deepspeed.initialize(model=model, optimizer=optimizer, config=config(scenario))
        return engine

    def training_arguments(self, scenario: Scenario, fields: set[str]) -> dict[str, Any]:
        self.available()
        return {"deepspeed": trainer_config(scenario)}

    def emit_training_arguments(self, scene: Scene) -> str | None:
        arguments = {"deepspeed": trainer_config(scene.scenario)}
        return f"        arguments.update({literal(arguments, 8)})  # distributed.strategy deepspeed"

    def emit_wrap(self, scene: Scene) -> str | None:
        steps = scene.scenario.steps
        optimizer = "AdamW" if steps.optimizer == "adamw" else "SGD"
        return "\n".join(
            [
                "    import deepspeed",
                "",
                "    parameters = [p for p in model.parameters() if p.requires_grad]",
                f"    client_optimizer = torch.optim.{optimizer}(parameters, lr={steps.lr})",
                f"    ds_config = {literal(config(scene.scenario), 4)}",
                "    model, *_ = deepspeed.initialize(model=model, optimizer=client_optimizer, config=ds_config)",
            ]
        )

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "distributed.deepspeed.zero_stage", draw(first(2, [3])), 2)


STRATEGY = DeepSpeed()
