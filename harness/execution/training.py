"""The training steps: a manual loop, a real transformers.Trainer, or a scenario's own hook."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.distributed import STRATEGIES, is_distributed
from harness.dsl.schema import TORCH_DTYPES

if TYPE_CHECKING:
    from harness.checkpointing._base import CheckpointingPath
    from harness.dsl.schema import InputsSpec, Scenario
    from harness.execution.probes import PhaseClock
    from harness.families._base import Task


@dataclass
class HookContext:
    """What a scenario's custom step hook receives besides the model and the batch."""

    scenario: Scenario
    device: str
    enter_phase: Callable[[str], None]


def to_device(batch: dict[str, Any], device: Any, float_dtype: Any = None) -> dict[str, Any]:
    return {key: _move(value, device, float_dtype) for key, value in batch.items()}


def _move(value: Any, device: Any, float_dtype: Any) -> Any:
    if not hasattr(value, "to"):
        return value
    moved = value.to(device)
    return moved.to(float_dtype) if float_dtype is not None and moved.is_floating_point() else moved


def grad_inputs(model: Any, batch: dict[str, Any], task: Task, spec: InputsSpec) -> dict[str, Any]:
    """Make the floating input require grad, as `inputs.requires_grad` asks."""
    if not spec.requires_grad:
        return batch
    batch = dict(batch)
    if task.grad_input == "inputs_embeds":
        ids = batch.pop("input_ids")
        batch["inputs_embeds"] = model.get_input_embeddings()(ids).detach().requires_grad_(True)
    else:
        batch[task.grad_input] = batch[task.grad_input].detach().requires_grad_(True)
    return batch


def loss_of(outputs: Any) -> Any:
    loss = getattr(outputs, "loss", None)
    if loss is not None:
        return loss
    first = outputs[0] if isinstance(outputs, (tuple, list)) else next(iter(outputs.values()))
    return first.float().pow(2).mean()


class ForwardObserver:
    """Phase changes, losses and parameter updates seen from outside the training loop.

    Works the same for the manual loop and the Trainer: hooks on the top-level model mark
    forward/backward, a global optimizer hook marks the step.
    """

    def __init__(self, model: Any, clock: PhaseClock, effective: dict[str, Any]):
        self.clock = clock
        self.effective = effective
        self.losses: list[float | None] = []
        self.stepped = False
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.before = [p.detach().clone() for p in self.trainable]
        self.handles = [
            model.register_forward_pre_hook(self._before_forward),
            model.register_forward_hook(self._after_forward),
        ]
        embeddings = _input_embeddings(model)
        if embeddings is not None:
            self.handles.append(embeddings.register_forward_hook(self._embedding_output))
        import torch.optim.optimizer as optim_module

        step_hook = getattr(optim_module, "register_optimizer_step_pre_hook", None)
        if step_hook is not None:
            self.handles.append(step_hook(self._before_step))

    def _before_forward(self, module: Any, args: Any) -> None:
        if self.clock.forward == 0:  # the Trainer switches checkpointing on only inside train()
            flag = getattr(module, "is_gradient_checkpointing", None)
            self.effective["is_gradient_checkpointing"] = flag if isinstance(flag, bool) else None
        self.clock.forward_call()

    def _after_forward(self, module: Any, args: Any, output: Any) -> None:
        loss = getattr(output, "loss", None)
        self.losses.append(float(loss.detach().float().item()) if loss is not None and loss.numel() == 1 else None)
        self.clock.enter("backward")
        differentiable = _first_differentiable(output)
        if differentiable is not None:  # a tensor hook only reads: it tells when backward reaches the output
            differentiable.register_hook(self._backward_reached)

    def _backward_reached(self, grad: Any) -> None:
        self.clock.backward_started()

    def _embedding_output(self, module: Any, args: Any, output: Any) -> None:
        self.effective.setdefault("input_embeddings_require_grad", bool(getattr(output, "requires_grad", False)))

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.stepped = True
        self.clock.enter("step")

    def updated(self) -> bool | None:
        if not self.stepped or not self.trainable:
            return None
        import torch

        return any(not torch.equal(p.detach(), old) for p, old in zip(self.trainable, self.before, strict=True))

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def _first_differentiable(output: Any) -> Any:
    """The loss, else the first output tensor that autograd will differentiate."""
    import torch

    candidates = [getattr(output, "loss", None)]
    if isinstance(output, (tuple, list)):
        candidates += list(output)
    elif hasattr(output, "values"):
        candidates += list(output.values())
    return next((t for t in candidates if isinstance(t, torch.Tensor) and t.requires_grad), None)


def _input_embeddings(model: Any) -> Any:
    with contextlib.suppress(Exception):
        return model.get_input_embeddings()
    return None


def _autocast(scenario: Scenario, device: str) -> Any:
    import torch

    precision = scenario.precision
    if precision.mode != "autocast" or precision.dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device, dtype=getattr(torch, TORCH_DTYPES[precision.dtype]))


def _grad_scaler(device: str) -> Any:
    import torch

    scaler_class = getattr(torch.amp, "GradScaler", None)
    return scaler_class(device) if scaler_class is not None else torch.cuda.amp.GradScaler()


def _optimizer(scenario: Scenario, parameters: list[Any]) -> Any:
    import torch

    steps = scenario.steps
    if steps.optimizer == "none" or not parameters:
        return None
    optimizer_class = torch.optim.AdamW if steps.optimizer == "adamw" else torch.optim.SGD
    return optimizer_class(parameters, lr=steps.lr)


def join_group(scenario: Scenario, device: str, clock: PhaseClock) -> None:
    """A distributed variant's rank joins its process group before training (see harness/distributed/rank.py)."""
    if is_distributed(scenario):
        from harness.distributed.rank import join_group as join

        clock.enter("setup")
        join(scenario, device)


def manual_loop(
    model: Any,
    batch: dict[str, Any],
    scenario: Scenario,
    clock: PhaseClock,
    device: str,
    effective: dict[str, Any] | None = None,
) -> None:
    steps = scenario.steps
    strategy = STRATEGIES[scenario.distributed.strategy]
    if is_distributed(scenario):  # wrapped as users wrap it: after the adapter, before the optimizer
        clock.enter("setup")
        model = strategy.wrap(model, scenario, device)
        if effective is not None:
            effective.setdefault("distributed", {}).update(strategy.describe(model))
    if strategy.owns_step:  # the engine holds the optimizer; backward and step go through it
        _engine_loop(model, batch, scenario, clock, device)
        return
    optimizer = _optimizer(scenario, [p for p in model.parameters() if p.requires_grad])
    scaler = _grad_scaler(device) if scenario.precision.grad_scaler else None
    model.train()
    for step in range(steps.train_steps):
        clock.enter("forward")
        with _autocast(scenario, device):
            loss = loss_of(model(**batch))
            if steps.repeat_forward:
                loss = loss + loss_of(model(**batch))
        clock.enter("backward")
        scaled = scaler.scale(loss) if scaler is not None else loss
        scaled.backward(retain_graph=steps.retain_graph)
        if step == 0 and steps.second_backward:
            scaled.backward()
        if optimizer is not None:
            clock.enter("step")
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)


def _engine_loop(engine: Any, batch: dict[str, Any], scenario: Scenario, clock: PhaseClock, device: str) -> None:
    """A DeepSpeed engine's loop: ``engine.backward(loss)`` and ``engine.step()``, as its docs write it."""
    engine.train()
    for _ in range(scenario.steps.train_steps):
        clock.enter("forward")
        with _autocast(scenario, device):
            loss = loss_of(engine(**batch))
        clock.enter("backward")
        engine.backward(loss)
        clock.enter("step")
        engine.step()


def with_trainer(
    model: Any,
    batch: dict[str, Any],
    scenario: Scenario,
    task: Task,
    path: CheckpointingPath,
    device: str,
    workdir: str,
    clock: PhaseClock,
    effective: dict[str, Any] | None = None,
) -> None:
    from transformers import Trainer, TrainingArguments

    clock.enter("setup")
    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    arguments = {
        **_harness_arguments(scenario, fields, device, workdir),
        **_precision_arguments(scenario),
        **path.training_arguments(scenario.checkpointing, fields),
    }
    if is_distributed(scenario):  # as users configure it: TrainingArguments, the Trainer wraps the model
        arguments.update(STRATEGIES[scenario.distributed.strategy].training_arguments(scenario, fields))
    trainer = Trainer(
        model=model, args=TrainingArguments(**arguments), train_dataset=task.rows(batch), data_collator=task.collate
    )
    try:
        trainer.train()
    finally:
        wrapped = getattr(trainer, "model_wrapped", None)
        if is_distributed(scenario) and effective is not None and wrapped is not None:
            effective.setdefault("distributed", {}).update(STRATEGIES[scenario.distributed.strategy].describe(wrapped))


def _harness_arguments(scenario: Scenario, fields: set[str], device: str, workdir: str) -> dict[str, Any]:
    """Arguments the harness needs for a quiet, local run; dropped where a version lacks them."""
    steps = scenario.steps
    wanted = {
        "output_dir": workdir,
        "max_steps": steps.train_steps,
        "per_device_train_batch_size": scenario.inputs.batch_size,
        "learning_rate": steps.lr,
        "optim": "sgd" if steps.optimizer == "sgd" else "adamw_torch",
        "report_to": "none",
        "save_strategy": "no",
        "logging_strategy": "no",
        "disable_tqdm": True,
        "dataloader_pin_memory": False,
        "remove_unused_columns": False,
        "seed": scenario.model.seed,
        "use_cpu" if "use_cpu" in fields else "no_cuda": device == "cpu",
    }
    return {key: value for key, value in wanted.items() if key in fields}


def _precision_arguments(scenario: Scenario) -> dict[str, Any]:
    """Mixed precision is the scenario's request, passed verbatim (fp16 on CPU fails for real)."""
    precision = scenario.precision
    if precision.mode != "autocast" or precision.dtype == "fp32":
        return {}
    return {precision.dtype: True}
