"""Run one variant in the current process: build, quantize, prepare, attach, train, observe.

This module runs inside the isolated worker (a forked child or a spawned interpreter); it imports
the ML stack freely. It returns an *observation*: the outcome and everything seen on the way.
The supervisor adds what only it can know (crashes, hangs) and the parent adds the verdicts.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.checkpointing import PATHS
from harness.checkpointing._base import OFF
from harness.distributed import STRATEGIES
from harness.dsl.schema import TORCH_DTYPES, Scenario
from harness.execution import intent, oracles, training
from harness.execution.probes import (
    Capture,
    GradientProbe,
    PhaseClock,
    checkpoint_calls,
    describe_exception,
    finite,
)
from harness.families import FAMILIES
from harness.families._base import Unsupported
from harness.methods import METHODS
from harness.observation import Observation
from harness.plugin import Stage, walk
from harness.quantization import BACKENDS

ALLOCATION_FAILURE = ("can't allocate memory", "CUDA out of memory", "std::bad_alloc")


class Pipeline:
    """The stages of one variant, in the order users run them.

    At each named point (harness/plugin.py) the pipeline runs the actions of the variant's plugins
    (quantization backend, checkpointing path, PEFT method), in that order; around them it keeps
    only its own bookkeeping (what was loaded in which dtype, which linears were quantized).
    """

    def __init__(self, scenario: Scenario, device: str, clock: PhaseClock, source_dir: Path | None):
        self.scenario = scenario
        self.device = device
        self.clock = clock
        self.source_dir = source_dir
        self.family = FAMILIES[scenario.model.family]
        self.method = METHODS[scenario.peft.method]
        self.backend = BACKENDS[scenario.quantization.backend]
        self.path = PATHS[scenario.checkpointing.via] if scenario.checkpointing.enabled else OFF
        self.plugins = [self.family, self.backend, self.path, self.method]
        self.effective: dict[str, Any] = {}
        self.checks: dict[str, Any] = {}
        # named check -> result; static intent checks are judged at the start of training
        self.results: dict[str, dict[str, Any]] = {}
        self.probe: GradientProbe | None = None
        self.shard_probe: Any = None  # sharded strategies: the gradients each rank's shards got
        self.capture: oracles.QuantCapture | None = None
        self.loaded_dtypes: dict[int, str] = {}  # id(parameter) -> dtype when the model was loaded
        self.linear_names: list[str] = []  # the unquantized model's linears
        self.quantized_layers: dict[str, Any] = {}  # name at load -> quantized module
        self._tmp = tempfile.TemporaryDirectory(prefix="ft-harness-")
        self.stage = Stage(scenario, device, self._tmp.name, self.effective)

    # -- stages ---------------------------------------------------------------------------------

    def run(self) -> None:
        import torch

        torch.manual_seed(self.scenario.model.seed)
        try:
            self.build()
            self.quantize()
            self.prepare()
            for point in ("before_attach", "attach", "after_attach"):
                self.walk(point)
            self.observe_setup(self.stage.model)
            self.train(self.stage.model, self.stage.batch or {})
        finally:
            if self.probe is not None:
                self.checks.update(self.probe.summary())
                self.probe.close()
            if self.shard_probe is not None:
                self.checks["shard_gradients"] = self.shard_probe.summary()
                self.shard_probe.close()
            if self.capture is not None:
                self.capture.close()
                with self.checking("quant-error"):
                    self.judge_quantized_outputs()
            self._tmp.cleanup()

    def walk(self, point: str) -> None:
        """Every plugin's action at ``point``, each recorded in the point's phase."""
        for phase, action in walk(self.plugins, point):
            self.clock.enter(phase)
            action(self.stage)

    def build(self) -> None:
        """A scenario's model hook, else the family, builds the model; then the build point's actions."""
        spec = self.scenario.model
        if spec.hook:
            self.clock.enter("build")
            built = load_hook(spec.hook, self.source_dir)(self.scenario, self.device)
            self.stage.model, self.stage.batch = built if isinstance(built, tuple) else (built, None)
        self.walk("build")
        self.effective["model_class"] = type(self.stage.model).__name__
        if not self.backend.quantizes:
            self.remember_load_dtypes(self.stage.model)

    def remember_load_dtypes(self, model: Any) -> None:
        self.loaded_dtypes = {id(p): intent.short_dtype(p.dtype) for p in model.parameters()}

    def quantize(self) -> None:
        """The backend reloads the built model quantized, as users load a checkpoint.

        Nothing runs on the model here: the unquantized reference is the saved weights file.
        """
        import torch

        if not self.backend.quantizes:
            return
        self.linear_names = [n for n, m in self.stage.model.named_modules() if isinstance(m, torch.nn.Linear)]
        self.walk("quantize")
        model = self.stage.model
        self.quantized_layers = {name: m for name, m in model.named_modules() if self.backend.is_quantized(m)}
        self.remember_load_dtypes(model)

    def prepare(self) -> None:
        spec = self.scenario.quantization
        if spec.prepare is None:
            return
        self.clock.enter("prepare")
        prepare = import_from("peft", spec.prepare)
        kwargs = {
            "use_gradient_checkpointing": False,
            **self.path.prepare_kwargs(self.scenario.checkpointing),
            **spec.prepare_kwargs,
        }
        self.effective["prepare"] = {"function": spec.prepare, "kwargs": kwargs}
        prepared = prepare(self.stage.model, **kwargs)
        if prepared is not None:
            self.stage.model = prepared

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
                "trainable_dtypes": dict(Counter(intent.short_dtype(p.dtype) for _, p in trainable)),
                "frozen_dtypes": dict(Counter(intent.short_dtype(p.dtype) for p in frozen)),
                "quantized_layers": dict(
                    Counter(self.backend.layer_kind(m) for m in model.modules() if self.backend.is_quantized(m))
                ),
                "model_type": type(model).__name__,
            }
        )
        self.checks["total_elements"] = sum(p.numel() for p in model.parameters())
        spec = self.scenario.checks
        if spec.gradients != "off" or spec.finite or spec.grad_parity is not None:
            self.probe = GradientProbe(trainable, self.family.group_of, lambda: self.clock.in_first_step)
        if spec.gradients != "off" and STRATEGIES[self.scenario.distributed.strategy].grads_in_shards:
            from harness.distributed.shards import ShardGradientProbe

            names = [name for name, _ in trainable]
            self.shard_probe = ShardGradientProbe(model, names, lambda: self.clock.in_first_step)
        if spec.quant_reference and self.quantized_layers:
            self.capture = oracles.QuantCapture(self.quantized_layers)
        with self.checking("intent checks"):
            self.judge_setup(model)

    @contextlib.contextmanager
    def checking(self, what: str) -> Iterator[None]:
        """A bug in our own checks must not pass for the variant's failure: it is noted, not raised."""
        try:
            yield
        except Exception as exc:
            self.results["harness-error"] = {"passed": None, "detail": f"{what}: {type(exc).__name__}: {exc}"[:500]}

    def judge_setup(self, model: Any) -> None:
        """The intent checks that the model's state at the start of training decides."""
        spec = self.scenario.checks
        adapters = _adapter_layers(model)
        if spec.base_dtype:
            adapter_params = {id(p) for _, layer in adapters for p in _own_adapter_parameters(layer)}
            base = [p for p in model.parameters() if id(p) not in adapter_params]
            # casting every non-quantized weight to fp32 is what prepare_model_for_kbit_training is
            # for on a k-bit model; on a model that is not quantized nobody asked for it
            prepare = self.scenario.quantization.prepare
            documented = prepare if prepare and self.backend.quantizes else None
            self.results["base-dtype"] = intent.base_dtype(self.loaded_dtypes, base, documented)
        if spec.adapter_dtype and self.method.attaches:
            autocast = intent.autocasts_adapters(self.scenario)
            weights = [
                (f"{name}.{pname}", p, intent.implied_adapter_dtype(self.scenario, layer.get_base_layer(), autocast))
                for name, layer in adapters
                for pname, p in _own_adapter_named_parameters(layer)
            ]
            self.results["adapter-dtype"] = intent.adapter_dtype(self.scenario, weights)
        if spec.quantized and self.backend.quantizes:
            skip = self.backend.skip_modules(self.backend.options(self.scenario))
            expected = intent.expected_quantized(self.linear_names, skip)
            self.results["quantized"] = intent.quantized(expected, set(self.quantized_layers), self.backend.name)
        peft_config = self.stage.peft_config
        if spec.adapter_targets and self.method.tuner_layers and peft_config is not None:
            targets = getattr(peft_config, "target_modules", None)
            if targets is not None:
                targets = sorted(targets) if isinstance(targets, (set, list, tuple)) else targets
                names = [name for name, _ in model.named_modules()]
                self.results["adapter-targets"] = intent.adapter_targets(
                    targets, names, [name for name, _ in adapters], strict=not _narrowed(peft_config)
                )

    def judge_quantized_outputs(self) -> None:
        override = self.scenario.checks.quant_error
        bound = override if override is not None else self.backend.bound(self.backend.options(self.scenario))
        weights = Path(self._tmp.name) / "model.safetensors"
        if self.capture is not None and weights.is_file():
            self.results["quant-error"] = self.capture.compare(str(weights), bound)

    def train(self, model: Any, batch: dict[str, Any]) -> None:
        batch = training.to_device(batch, self.device, self.precision_dtype)
        batch = training.grad_inputs(model, batch, self.family.task(self.scenario.model), self.scenario.inputs)
        observer = training.ForwardObserver(model, self.clock, self.effective)
        try:
            training.join_group(self.scenario, self.device, self.clock)
            if self.scenario.steps.hook:
                custom = load_hook(self.scenario.steps.hook, self.source_dir)
                custom(model, batch, training.HookContext(self.scenario, self.device, self.clock.enter))
            elif self.scenario.runner == "trainer":
                task = self.family.task(self.scenario.model)
                training.with_trainer(
                    model,
                    batch,
                    self.scenario,
                    task,
                    self.path,
                    self.device,
                    self._tmp.name,
                    self.clock,
                    self.effective,
                )
            else:
                training.manual_loop(model, batch, self.scenario, self.clock, self.device, self.effective)
        finally:
            observer.close()
            self.checks["losses"] = observer.losses
            self.checks["updated"] = observer.updated()

    # -- helpers --------------------------------------------------------------------------------

    @property
    def precision_dtype(self) -> Any:
        return precision_dtype(self.scenario)


def precision_dtype(scenario: Scenario) -> Any:
    """The dtype the model is loaded in (precision mode "weights"); None for fp32 and autocast."""
    precision = scenario.precision
    if precision.mode != "weights" or precision.dtype == "fp32":
        return None
    import torch

    return getattr(torch, TORCH_DTYPES[precision.dtype])


def run_variant(
    scenario: Scenario, device: str, on_phase: Callable[[str], None], source_dir: Path | None = None
) -> dict[str, Any]:
    """Run a variant and return its observation (an :class:`Observation`'s wire form); never
    raises for a failure of the variant."""
    reference = _fork_reference(scenario, device, source_dir)
    started = time.monotonic()
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
    location = clock.location()
    if location is not None and observation["outcome"] != "passed":
        observation["at"] = location
    observation["timings"] = clock.stop()
    observation["warnings"], observation["logs"] = capture.records()
    effective = pipeline.effective if pipeline else {}
    effective["checkpoint_calls"] = counts
    effective["use_reentrant"] = _effective_reentrant(counts)
    observation["effective"] = effective
    observation["checks"] = pipeline.checks if pipeline else {}
    results = pipeline.results if pipeline else {}
    if reference is not None:
        if observation["outcome"] == "passed" and pipeline is not None and pipeline.probe is not None:
            budget = max(5.0, scenario.timeout * 0.9 - (time.monotonic() - started))
            results["grad-parity"] = oracles.grad_parity(
                pipeline.probe.fingerprints(), reference.collect(budget), scenario.checks.grad_parity or 0.0
            )
        else:
            reference.cancel()
    if observation["outcome"] == "passed":
        results = judge(scenario, observation["checks"], effective, results)
        observation["checks"]["results"] = results
        failed = [f"{name} ({r['detail']})" for name, r in results.items() if r.get("passed") is False]
        observation["checks"]["failed"] = failed
        if failed:
            observation.update(outcome="silent", reason="; ".join(failed))
    elif results:
        observation["checks"]["results"] = results
    try:
        return Observation.model_validate(observation).wire()
    except ValidationError:
        return observation  # sent as it is: the parent names what is wrong in a crashed record


def _fork_reference(scenario: Scenario, device: str, source_dir: Path | None) -> oracles.ReferenceRun | None:
    """The checkpointing-off twin for grad-parity, forked before anything of the variant runs."""
    if not scenario.checkpointing.enabled or scenario.checks.grad_parity is None or not hasattr(os, "fork"):
        return None
    if scenario.distributed.strategy != "none":  # rank-local gradients (a data shard, a parameter shard)
        return None
    twin = reference_scenario(scenario)

    def run() -> dict[str, Any]:
        _die_with_parent()
        clock = PhaseClock(lambda phase: None)
        pipeline = Pipeline(twin, device, clock, source_dir)
        try:
            pipeline.run()
        except Exception as exc:
            return {
                "error": f"the run without checkpointing failed at {clock.phase}: {type(exc).__name__}: {exc}"[:500]
            }
        if pipeline.probe is None:
            return {"error": "the run without checkpointing had no gradient probe"}
        return {"fingerprints": pipeline.probe.fingerprints()}

    return oracles.ReferenceRun(run)


def reference_scenario(scenario: Scenario) -> Scenario:
    """The same variant with checkpointing off, for its first step only (all grad-parity compares)."""
    data = scenario.model_dump()
    data["checkpointing"]["enabled"] = False
    data["steps"]["runner"] = scenario.runner  # keep the Trainer where the variant uses it
    data["steps"]["train_steps"] = 1
    data["checks"] = {**data["checks"], "grad_parity": None, "quant_reference": False}
    return Scenario.model_validate(data)


def judge(
    scenario: Scenario, checks: dict[str, Any], effective: dict[str, Any], results: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Every named check of a variant that ran: outcome checks, intent checks, oracles."""
    spec = scenario.checks
    method = METHODS[scenario.peft.method]
    mode = method.gradient_mode(spec.gradients)
    judged: dict[str, dict[str, Any]] = {}
    sharded = STRATEGIES[scenario.distributed.strategy].shards_parameters
    if sharded and mode != "off":  # the tensor hooks sit on parameters the wrapper replaced by shards
        judged["gradients"] = intent.result(None, f"not measured: {sharded}")
    elif checks.get("trainable_tensors", 0) == 0 and mode != "off":
        judged["gradients"] = intent.result(False, "no-trainable-parameters", trainable_tensors=0)
    elif mode != "off":
        failures = _gradient_failures(mode, checks.get("groups", {}))
        passed = "every group got gradients" if mode == "all" else f"gradients reached ({method.gradients_why})"
        judged["gradients"] = intent.result(not failures, "; ".join(failures) or passed)
    if spec.finite:
        judged["finite"] = _finite_check(scenario, checks)
    if sharded and spec.update and scenario.steps.optimizer != "none":
        judged["update"] = intent.result(None, f"not measured: {sharded}")
    elif spec.update and scenario.steps.optimizer != "none" and checks.get("updated") is not None:
        updated = checks["updated"]
        judged["update"] = intent.result(
            updated, "the step changed the trainable parameters" if updated else "no-update"
        )
    if spec.checkpointing_active:
        judged["checkpointing-active"] = intent.checkpointing_active(scenario, effective)
    if spec.checkpoint_impl:
        judged["checkpoint-impl"] = intent.checkpoint_impl(scenario, effective, _version("transformers"))
    judged.update(results)
    return {name: r for name, r in judged.items() if r.get("passed") is not None or r.get("detail")}


def _finite_check(scenario: Scenario, checks: dict[str, Any]) -> dict[str, Any]:
    # None: the model computed no loss (no labels); the loop's own loss is not visible here
    losses = [loss for loss in checks.get("losses", []) if loss is not None]
    failures = [] if all(finite(loss) for loss in losses) else ["nonfinite-loss"]
    nonfinite = checks.get("nonfinite_grads", 0)
    if nonfinite and not scenario.precision.grad_scaler:  # a GradScaler skips such steps by design
        failures.append(f"nonfinite-grad ({nonfinite} tensors)")
    return intent.result(not failures, "; ".join(failures) or "finite losses and gradients", losses=losses)


def _gradient_failures(mode: str, groups: dict[str, dict[str, int]]) -> list[str]:
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


def _adapter_layers(model: Any) -> list[tuple[str, Any]]:
    """(name, layer) of every peft tuner layer (LoRA, IA3, ...) the adapter put in the model."""
    try:
        from peft.tuners.tuners_utils import BaseTunerLayer
    except ImportError:
        return []
    return [(name, m) for name, m in model.named_modules() if isinstance(m, BaseTunerLayer)]


def _own_adapter_named_parameters(layer: Any) -> list[tuple[str, Any]]:
    """The adapter weights a tuner layer holds itself (its base layer's and nested layers' excluded)."""
    names = set(getattr(layer, "adapter_layer_names", ()))
    return [
        (name, p) for name, p in layer.named_parameters() if name.split(".", 1)[0] in names and p.is_floating_point()
    ]


def _own_adapter_parameters(layer: Any) -> list[Any]:
    return [p for _, p in _own_adapter_named_parameters(layer)]


def _narrowed(config: Any) -> bool:
    """A peft config that adapts only some of the modules its targets name."""
    return any(getattr(config, key, None) for key in ("layers_to_transform", "layers_pattern", "exclude_modules"))


def _version(package: str) -> str | None:
    from importlib import metadata

    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version(package)
    return None


def _die_with_parent() -> None:
    from harness.execution.supervisor import _die_with_parent as die

    die()


def dtype_keyword() -> str:
    """transformers 4.56 renamed from_pretrained's torch_dtype to dtype."""
    import transformers
    from packaging.version import Version

    return "dtype" if Version(transformers.__version__).release >= (4, 56) else "torch_dtype"


def real_modules(module: str) -> Any:
    """What a backend's ``quantization_config`` builds from in the pipeline: the real modules."""
    return importlib.import_module(module)


def import_from(module: str, name: str) -> Any:
    """`from module import name`, failing exactly as that statement does in user code."""
    namespace: dict[str, Any] = {}
    exec(f"from {module} import {name}", namespace)
    return namespace[name]


def load_hook(reference: str, source_dir: Path | None) -> Callable[..., Any]:
    """Resolve a scenario's `module:function` (a .py beside the scenario wins over sys.path)."""
    from harness.dsl import hooks

    return hooks.load(reference, source_dir)
