"""Run one variant in the current process: build, quantize, prepare, attach, train, observe.

This module runs inside the isolated worker (a forked child or a spawned interpreter); it imports
the ML stack freely. It returns an *observation*: the outcome and everything seen on the way.
The supervisor adds what only it can know (crashes, hangs) and the parent adds the verdicts.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.checkpointing import PATHS
from harness.checkpointing._base import OFF
from harness.dsl.schema import Scenario
from harness.execution import training
from harness.execution.probes import Capture, GradientProbe, PhaseClock, checkpoint_calls, describe_exception
from harness.families import FAMILIES
from harness.families._base import Unsupported
from harness.methods import METHODS
from harness.quantization import BACKENDS

TORCH_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
ALLOCATION_FAILURE = ("can't allocate memory", "CUDA out of memory", "std::bad_alloc")


class Pipeline:
    """The stages of one variant, in the order users run them."""

    def __init__(self, scenario: Scenario, device: str, clock: PhaseClock, source_dir: Path | None):
        self.scenario = scenario
        self.device = device
        self.clock = clock
        self.source_dir = source_dir
        self.family = FAMILIES[scenario.model.family]
        self.method = METHODS[scenario.peft.method]
        self.backend = BACKENDS[scenario.quantization.backend]
        self.path = PATHS[scenario.checkpointing.via] if scenario.checkpointing.enabled else OFF
        self.effective: dict[str, Any] = {}
        self.checks: dict[str, Any] = {}
        self.probe: GradientProbe | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="ft-harness-")

    # -- stages ---------------------------------------------------------------------------------

    def run(self) -> None:
        import torch

        torch.manual_seed(self.scenario.model.seed)
        try:
            model, batch = self.build()
            model = self.quantize(model, batch)
            model = self.prepare(model)
            self.enable_checkpointing(model, self.path.before_attach)
            model = self.attach(model)
            self.enable_checkpointing(model, self.path.after_attach)
            self.observe_setup(model)
            self.train(model, batch)
        finally:
            if self.probe is not None:
                self.checks.update(self.probe.summary())
                self.probe.close()
            self._tmp.cleanup()

    def build(self) -> tuple[Any, dict[str, Any]]:
        import torch

        spec = self.scenario.model
        batch = None
        if spec.hook:
            built = load_hook(spec.hook, self.source_dir)(self.scenario, self.device)
            model, batch = built if isinstance(built, tuple) else (built, None)
            config = model.config
        else:
            config = self.family.config(spec)
            model_class = self.family.model_class(spec)
            extra = {"attn_implementation": spec.attn_implementation} if spec.attn_implementation else {}
            model = model_class._from_config(config, **extra) if extra else model_class(config)
        if batch is None:
            generator = torch.Generator().manual_seed(spec.seed)
            batch = self.family.task(spec).inputs(self.scenario.inputs, config, generator)
        if not self.backend.quantizes:
            if self.precision_dtype is not None:
                model = model.to(self.precision_dtype)
            model = model.to(self.device)
        self.effective["model_class"] = type(model).__name__
        return model, batch

    def quantize(self, model: Any, batch: dict[str, Any]) -> Any:
        if not self.backend.quantizes:
            return model
        self.clock.enter("quantize")
        quantization_config = self.backend.make_config(self.scenario.quantization)
        self.checks["reference_loss"] = self.base_loss(model, batch)
        model.save_pretrained(self._tmp.name)
        model_class = type(model)
        del model
        kwargs: dict[str, Any] = {"quantization_config": quantization_config}
        if self.precision_dtype is not None:
            kwargs[dtype_keyword()] = self.precision_dtype
        if self.device == "cuda":
            kwargs["device_map"] = {"": 0}
        model = model_class.from_pretrained(self._tmp.name, **kwargs)
        self.measure_quantization_gap(model, batch)
        return model

    def measure_quantization_gap(self, model: Any, batch: dict[str, Any]) -> None:
        # A quantized forward that raises here would raise in training too; record it there,
        # in the phase where users meet it, not here.
        try:
            quant_loss = self.base_loss(model, batch)
        except Exception as exc:
            self.checks["quant_loss_error"] = describe_exception(exc)["message"]
            return
        reference = self.checks["reference_loss"]
        self.checks["quant_loss"] = quant_loss
        if all(map(_finite, (reference, quant_loss))):
            self.checks["quant_gap"] = abs(quant_loss - reference) / max(abs(reference), 1e-6)

    def prepare(self, model: Any) -> Any:
        spec = self.scenario.quantization
        if spec.prepare is None:
            return model
        self.clock.enter("prepare")
        prepare = import_from("peft", spec.prepare)
        kwargs = {
            "use_gradient_checkpointing": False,
            **self.path.prepare_kwargs(self.scenario.checkpointing),
            **spec.prepare_kwargs,
        }
        self.effective["prepare"] = {"function": spec.prepare, "kwargs": kwargs}
        prepared = prepare(model, **kwargs)
        return model if prepared is None else prepared

    def enable_checkpointing(self, model: Any, hook: Callable[..., None]) -> None:
        if not self.scenario.checkpointing.enabled:
            return
        self.clock.enter("enable-checkpointing")
        hook(model, self.scenario.checkpointing, self.effective)

    def attach(self, model: Any) -> Any:
        if not self.method.attaches:
            return model
        self.clock.enter("attach")
        task_type = self.family.task(self.scenario.model).peft_task_type
        config = self.method.config(self.scenario, self.family, task_type)
        self.effective["attach"] = self.scenario.peft.attach
        wrap_kwargs = self.scenario.peft.wrap_kwargs
        if self.scenario.peft.attach == "add_adapter":
            model.add_adapter(config, **wrap_kwargs)
            return model
        from peft import get_peft_model

        return get_peft_model(model, config, **wrap_kwargs)

    def observe_setup(self, model: Any) -> None:
        require_grads = self.scenario.checkpointing.input_require_grads
        if require_grads is not None:
            self.clock.enter("enable-checkpointing")
            getattr(model, "enable_input_require_grads" if require_grads else "disable_input_require_grads")()
        trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        frozen = [p for p in model.parameters() if not p.requires_grad]
        self.effective.update(
            {
                "checkpointing": any(getattr(m, "gradient_checkpointing", False) is True for m in model.modules()),
                "input_require_grads_hook": any(
                    getattr(m, "_require_grads_hook", None) is not None for m in model.modules()
                ),
                "trainable_dtypes": dict(Counter(str(p.dtype).removeprefix("torch.") for _, p in trainable)),
                "frozen_dtypes": dict(Counter(str(p.dtype).removeprefix("torch.") for p in frozen)),
                "quantized_layers": dict(
                    Counter(type(m).__name__ for m in model.modules() if type(m).__module__.startswith("bitsandbytes"))
                ),
                "model_type": type(model).__name__,
            }
        )
        self.checks["total_elements"] = sum(p.numel() for p in model.parameters())
        self.probe = GradientProbe(trainable, self.family.group_of)

    def train(self, model: Any, batch: dict[str, Any]) -> None:
        batch = training.to_device(batch, self.device, self.precision_dtype)
        batch = training.grad_inputs(model, batch, self.family.task(self.scenario.model), self.scenario.inputs)
        observer = training.ForwardObserver(model, self.clock, self.effective)
        try:
            if self.scenario.steps.hook:
                custom = load_hook(self.scenario.steps.hook, self.source_dir)
                custom(model, batch, training.HookContext(self.scenario, self.device, self.clock.enter))
            elif self.scenario.runner == "trainer":
                task = self.family.task(self.scenario.model)
                training.with_trainer(
                    model, batch, self.scenario, task, self.path, self.device, self._tmp.name, self.clock
                )
            else:
                training.manual_loop(model, batch, self.scenario, self.clock, self.device)
        finally:
            observer.close()
            self.checks["losses"] = observer.losses
            self.checks["updated"] = observer.updated()

    # -- helpers --------------------------------------------------------------------------------

    @property
    def precision_dtype(self) -> Any:
        precision = self.scenario.precision
        if precision.mode != "weights" or precision.dtype == "fp32":
            return None
        import torch

        return getattr(torch, TORCH_DTYPES[precision.dtype])

    def base_loss(self, model: Any, batch: dict[str, Any]) -> float | None:
        """The loss of the base model on the batch, in training mode as the steps will run it.

        The same seed before each measurement gives both models the same dropout masks.
        """
        import torch

        torch.manual_seed(self.scenario.model.seed)
        model.train()
        with torch.no_grad():
            loss = training.loss_of(model(**training.to_device(batch, _device_of(model))))
        return float(loss.float().item())


def run_variant(
    scenario: Scenario, device: str, on_phase: Callable[[str], None], source_dir: Path | None = None
) -> dict[str, Any]:
    """Run a variant and return its observation; never raises for a failure of the variant."""
    clock = PhaseClock(on_phase)
    capture = Capture()
    counts: dict[str, int] = {}
    pipeline: Pipeline | None = None
    observation: dict[str, Any] = {"outcome": "passed"}
    try:
        with capture.active(), checkpoint_calls(counts, lambda: clock.phase == "forward"):
            pipeline = Pipeline(scenario, device, clock, source_dir)
            pipeline.run()
    except Unsupported as exc:
        observation.update(outcome="skipped", reason=str(exc))
    except BaseException as exc:  # the variant's failure is the fact we record
        observation.update(outcome="failed", error=describe_exception(exc))
        if isinstance(exc, MemoryError) or any(text in str(exc) for text in ALLOCATION_FAILURE):
            observation.update(outcome="crashed", reason=f"memory cap exceeded: {str(exc)[:200]}")
    observation["phase"] = clock.phase
    observation["timings"] = clock.stop()
    observation["warnings"], observation["logs"] = capture.records()
    effective = pipeline.effective if pipeline else {}
    effective["checkpoint_calls"] = counts
    effective["use_reentrant"] = _effective_reentrant(counts)
    observation["effective"] = effective
    observation["checks"] = pipeline.checks if pipeline else {}
    if observation["outcome"] == "passed":
        failed = judge(scenario, observation["checks"], effective)
        observation["checks"]["failed"] = failed
        if failed:
            observation.update(outcome="silent", reason="; ".join(failed))
    return observation


def judge(scenario: Scenario, checks: dict[str, Any], effective: dict[str, Any]) -> list[str]:
    """Names of the correctness checks that failed (empty: the variant really worked)."""
    spec = scenario.checks
    failed = []
    if checks.get("trainable_tensors", 0) == 0:
        return ["no-trainable-parameters"]
    failed += _gradient_failures(spec.gradients, checks.get("groups", {}))
    if spec.finite:
        # None: the model computed no loss (no labels); the loop's own loss is not visible here
        if not all(_finite(loss) for loss in checks.get("losses", []) if loss is not None):
            failed.append("nonfinite-loss")
        if checks.get("nonfinite_grads") and not scenario.precision.grad_scaler:
            failed.append(f"nonfinite-grad ({checks['nonfinite_grads']} tensors)")
    gap = checks.get("quant_gap")
    if spec.quant_gap is not None and gap is not None and gap > spec.quant_gap:
        failed.append(f"quant-gap ({gap:.3f} > {spec.quant_gap})")
    if spec.update and checks.get("updated") is False and scenario.steps.optimizer != "none":
        failed.append("no-update")
    return failed


def _gradient_failures(mode: str, groups: dict[str, dict[str, int]]) -> list[str]:
    if mode == "off":
        return []
    if mode == "any":
        return [] if any(g["nonzero_grad"] for g in groups.values()) else ["no-grad (no parameter)"]
    failed = []
    for name, group in sorted(groups.items()):
        if group["with_grad"] < group["trainable"]:
            failed.append(f"no-grad:{name} ({group['trainable'] - group['with_grad']} of {group['trainable']})")
        elif group["nonzero_grad"] < group["with_grad"]:
            failed.append(f"zero-grad:{name} ({group['with_grad'] - group['nonzero_grad']} of {group['trainable']})")
    return failed


def _effective_reentrant(counts: dict[str, int]) -> bool | str | None:
    reentrant, non_reentrant = counts.get("reentrant", 0), counts.get("non_reentrant", 0)
    if reentrant and non_reentrant:
        return "mixed"
    if reentrant or non_reentrant:
        return bool(reentrant)
    return None


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _device_of(model: Any) -> Any:
    with contextlib.suppress(StopIteration):
        return next(model.parameters()).device
    return "cpu"


def dtype_keyword() -> str:
    """transformers 4.56 renamed from_pretrained's torch_dtype to dtype."""
    import transformers
    from packaging.version import Version

    return "dtype" if Version(transformers.__version__).release >= (4, 56) else "torch_dtype"


def import_from(module: str, name: str) -> Any:
    """`from module import name`, failing exactly as that statement does in user code."""
    namespace: dict[str, Any] = {}
    exec(f"from {module} import {name}", namespace)
    return namespace[name]


def load_hook(reference: str, source_dir: Path | None) -> Callable[..., Any]:
    """Resolve a scenario's `module:function` (a .py beside the scenario wins over sys.path)."""
    module_name, _, function = reference.rpartition(":")
    candidate = Path(module_name if module_name.endswith(".py") else module_name.replace(".", "/") + ".py")
    if source_dir is not None and (source_dir / candidate).is_file():
        spec = importlib.util.spec_from_file_location(f"ft_harness_hook_{candidate.stem}", source_dir / candidate)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    else:
        module = importlib.import_module(module_name.removesuffix(".py"))
    return getattr(module, function)
