"""What a quantization backend is: its options, its ``quantization_config``, and how it reloads.

A backend module defines one :class:`Backend` subclass. It owns

* ``Options``: its fields under ``quantization:`` in a scenario (``quant_type`` belongs to
  bitsandbytes 4-bit, ``weights`` to quanto), validated when the scenario loads;
* ``quantization_config(options, modules)``: the config object users pass to ``from_pretrained``.
  It is written once against ``modules(name)``: the pipeline passes real modules, the repro
  exporter a recorder, so the script's call is the harness's call by construction;
* the quantize point: save the built model and load it back quantized (``on_quantize``, and
  ``emit_quantize`` for the script), as users load a checkpoint;
* what counts as a quantized layer, its error bound for the ``quant-error`` oracle, and how
  ``harness explore`` draws its options.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from harness.families._base import Unsupported
from harness.plugin import Plugin, Scene, Stage

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario

Modules = Callable[[str], Any]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendOptions(NoOptions):
    """Options every quantizing backend has."""

    config: dict[str, Any] = {}
    skip_modules: list[str] | None = None


class Backend(Plugin):
    name = ""
    Options: ClassVar[type[NoOptions]] = NoOptions
    # None: runs on every device; else the devices its kernels exist for (others: skipped).
    devices: ClassVar[tuple[str, ...] | None] = None
    # what else limits the backend, said with the skip reason where its devices are missing
    device_note: ClassVar[str] = ""
    # relative output error of a quantized linear against the unquantized one (quant-error)
    error_bound: ClassVar[float] = 0.1

    @property
    def quantizes(self) -> bool:
        return True

    def options(self, scenario: Scenario) -> Any:
        return self.Options.model_validate(scenario.quantization.options)

    def quantization_config(self, options: Any, modules: Modules) -> Any:
        raise NotImplementedError

    def bound(self, options: Any) -> float:
        return self.error_bound

    def skip_modules(self, options: Any) -> list[str]:
        return list(getattr(options, "skip_modules", None) or [])

    @staticmethod
    def quantized_layer(module: Any) -> bool:
        """A module whose weight this backend replaced. Each backend sets a plain module-level
        function here: the `quantized` check and the oracles call it, repro scripts inline it."""
        raise NotImplementedError

    def is_quantized(self, module: Any) -> bool:
        return self.quantized_layer(module)

    def layer_kind(self, module: Any) -> str:
        """What a quantized layer is called in ``effective.quantized_layers``."""
        return type(module).__name__

    def describe(self, options: Any) -> str:
        """One line for a record's summary and the repro script's comment."""
        return self.name

    # -- the quantize point ---------------------------------------------------------------------

    def check_available(self, device: str) -> None:
        # the device first: a CPU machine lacks the kernels whatever is installed
        if self.devices is not None and device not in self.devices:
            note = f"; {self.device_note}" if self.device_note else ""
            devices = ", ".join(self.devices)
            raise Unsupported(f"quantization backend '{self.name}' has kernels for {devices} only{note}")
        for distribution in self.requires:
            if not _importable(_import_name(distribution)):
                raise Unsupported(f"{distribution} is not installed (quantization backend '{self.name}')")

    def on_quantize(self, stage: Stage) -> None:
        from harness.execution.pipeline import dtype_keyword, precision_dtype, real_modules

        self.check_available(stage.device)
        options = self.options(stage.scenario)
        config = self.quantization_config(options, real_modules)
        stage.model.save_pretrained(stage.workdir)
        model_class = type(stage.model)
        stage.model = None  # the unquantized model is not kept: the saved weights are the reference
        kwargs: dict[str, Any] = {"quantization_config": config}
        dtype = precision_dtype(stage.scenario)
        if dtype is not None:
            kwargs[dtype_keyword()] = dtype
        if stage.device == "cuda":
            kwargs["device_map"] = {"": 0}
        stage.model = model_class.from_pretrained(stage.workdir, **kwargs)

    def emit_quantize(self, scene: Scene) -> str:
        from harness.report.repro.inline import Code, RecordingModules, call, literal

        modules = RecordingModules()
        config = self.quantization_config(self.options(scene.scenario), modules)
        scene.imports.update({"tempfile", "importlib.util", *(m for m in modules.used if "." in m or m not in _CORE)})
        reload: dict[str, Any] = {"quantization_config": Code("quantization_config")}
        if scene.scenario.precision.mode == "weights" and scene.scenario.precision.dtype != "fp32":
            reload[_recorded_dtype_keyword(scene)] = Code("DTYPE")
        if scene.device == "cuda":
            reload["device_map"] = {"": 0}
        # each parent package first: find_spec("optimum.quanto") raises where optimum is missing
        checks = [
            f"    if any(importlib.util.find_spec(name) is None for name in {literal(_parents(_import_name(d)))}):\n"
            f"        raise Skip({literal(f'{d} is not installed')})"
            for d in self.requires
        ]
        described = self.describe(self.options(scene.scenario))
        before, after = self.emit_quantized_check(scene)
        return "\n".join(
            [
                f"    # save the tiny model, reload it quantized through from_pretrained ({described})",
                *checks,
                *before,
                f"    quantization_config = {literal(config, 4)}",
                "    saved = tempfile.TemporaryDirectory()",
                "    model.save_pretrained(saved.name)",
                "    model_class = type(model)",
                "    del model",
                "    model = " + call("model_class.from_pretrained", reload, 4, positional=("saved.name",)),
                *after,
            ]
        )

    def emit_quantized_check(self, scene: Scene) -> tuple[list[str], list[str]]:
        """The checks the pipeline makes on the quantized layers, as lines before and after the
        reload: `quantized` (the built model's block linears against the layers that came back
        quantized) and the `quant-error` oracle (each quantized layer's first output against the
        saved unquantized weights, judged when training is over)."""
        from harness.execution import intent, oracles
        from harness.report.repro.inline import literal

        checks = scene.scenario.checks
        before: list[str] = []
        after: list[str] = []
        if checks.quantized or checks.quant_reference:
            scene.functions.append(self.quantized_layer)
        if checks.quantized:
            scene.functions += [intent.expected_quantized, intent.unquantized]
            skip = self.skip_modules(self.options(scene.scenario))
            before.append("    linear_names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]")
            after += [
                "    # the `quantized` check: every linear inside the repeated blocks came back quantized",
                f"    expected = expected_quantized(linear_names, {literal(skip)})",
                "    converted = {name for name, module in model.named_modules() if quantized_layer(module)}",
                f'    checks["quantized"] = unquantized(expected, converted, {literal(self.name)})',
            ]
        if checks.quant_reference:
            scene.functions += [oracles.capture_first_calls, oracles.quant_errors, oracles.quant_error_failure]
            bound = checks.quant_error if checks.quant_error is not None else self.bound(self.options(scene.scenario))
            after += [
                "    # the `quant-error` oracle: each quantized linear's first output (read by a forward hook:",
                "    # no extra call) against the same layer computed from the saved unquantized weights",
                "    captured, _ = capture_first_calls({n: m for n, m in model.named_modules() if quantized_layer(m)})",
                '    weights_file = saved.name + "/model.safetensors"',
                f"    judged = lambda: quant_error_failure(quant_errors(captured, weights_file), {bound!r})",
                '    checks["quant-error"] = judged',
            ]
        return before, after

    # -- explore --------------------------------------------------------------------------------

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        """Backends without options draw nothing."""


class NoQuantization(Backend):
    """The model is trained as built: cast to the precision's dtype and moved to the device."""

    name = "none"

    @property
    def quantizes(self) -> bool:
        return False

    def is_quantized(self, module: Any) -> bool:
        return False

    def on_build(self, stage: Stage) -> None:
        from harness.execution.pipeline import precision_dtype

        dtype = precision_dtype(stage.scenario)
        if dtype is not None:
            stage.model = stage.model.to(dtype)
        stage.model = stage.model.to(stage.device)

    def emit_build(self, scene: Scene) -> str:
        precision = scene.scenario.precision
        cast = ["    model = model.to(DTYPE)"] if precision.mode == "weights" and precision.dtype != "fp32" else []
        return "\n".join([*cast, "    model = model.to(DEVICE)"])

    def action(self, point: str) -> Any:
        return self.on_build if point == "build" else None

    def emitter(self, point: str) -> Any:
        return self.emit_build if point == "build" else None


_CORE = {"torch", "transformers", "peft"}
# distribution name -> import name, where they differ
_IMPORT_NAMES = {"optimum-quanto": "optimum.quanto"}


def _import_name(distribution: str) -> str:
    return _IMPORT_NAMES.get(distribution, distribution.replace("-", "_"))


def _parents(module: str) -> tuple[str, ...]:
    """ "optimum.quanto" -> ("optimum", "optimum.quanto"): the names to find, outermost first."""
    parts = module.split(".")
    return tuple(".".join(parts[: i + 1]) for i in range(len(parts)))


def _importable(module: str) -> bool:
    """Whether ``module`` can be imported; a dotted name whose parent is missing is not (find_spec
    would raise ModuleNotFoundError for it, not answer None)."""
    return all(importlib.util.find_spec(name) is not None for name in _parents(module))


def _recorded_dtype_keyword(scene: Scene) -> str:
    """transformers 4.56 renamed from_pretrained's torch_dtype to dtype; the cell's version decides."""
    from packaging.version import InvalidVersion, Version

    version = scene.version("transformers")
    try:
        return "dtype" if version is None or Version(version).release >= (4, 56) else "torch_dtype"
    except InvalidVersion:
        return "dtype"
