"""A record's scenario as a standalone script: the harness's pipeline written out as plain code.

Each stage mirrors harness/execution/pipeline.py and training.py for this one scenario: the
same seed and tiny config, the same batch (the family's input builder, inlined), the same
save/reload through ``from_pretrained(quantization_config=...)``, prepare call, checkpointing call
(on the same object, at the same point, under the same API name), adapter config, precision,
loop or Trainer, and the same correctness checks deciding *silent*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from harness.checkpointing import PATHS
from harness.checkpointing._base import OFF
from harness.distributed import STRATEGIES
from harness.dsl.schema import TORCH_DTYPES, Scenario
from harness.execution import training
from harness.families import FAMILIES, _inputs
from harness.families._base import Family, Task, _default_collate, _default_rows
from harness.methods import METHODS
from harness.plugin import POINTS, Scene, emit
from harness.quantization import BACKENDS
from harness.report.repro.inline import (
    Code,
    ReproError,
    call,
    docstring,
    inline_functions,
    literal,
    one_line,
)

TEMPLATE = "repro.py.j2"


class _Everything:
    """A field set that has every name: the harness's Trainer arguments, unfiltered."""

    def __contains__(self, name: object) -> bool:
        return True


def scenario_of(record: dict[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(record["scenario"])
    except Exception as exc:
        raise ReproError(f"{record['id']}: its resolved scenario no longer validates: {exc}") from None


def _checkpoint_checks(scenario: Scenario) -> dict[str, Any] | None:
    """What the checkpointing intent checks need: whether they apply and what was asked for."""
    from harness.execution.intent import asked_reentrant

    checks = scenario.checks
    if not scenario.checkpointing.enabled or not (checks.checkpointing_active or checks.checkpoint_impl):
        return None
    return {
        "via": literal(scenario.checkpointing.via),
        "active": checks.checkpointing_active,
        "impl": checks.checkpoint_impl,
        "asked": literal(asked_reentrant(scenario)),
    }


def plugins_of(scenario: Scenario) -> list[Any]:
    """The variant's plugins in the pipeline's order (harness/execution/pipeline.py)."""
    path = PATHS[scenario.checkpointing.via] if scenario.checkpointing.enabled else OFF
    family = FAMILIES[scenario.model.family]
    strategy = STRATEGIES[scenario.distributed.strategy]
    return [family, BACKENDS[scenario.quantization.backend], path, METHODS[scenario.peft.method], strategy]


def point_code(scene: Scene) -> dict[str, str | None]:
    """Each point's code: every plugin's block, after one `enter(<phase>)`, as the pipeline walks them."""
    plugins = plugins_of(scene.scenario)
    code: dict[str, str | None] = {}
    for point in POINTS:
        lines = []
        for phase, block in emit(plugins, point, scene):
            if point != "build":  # the script starts in "build"
                lines.append(f'    enter("{phase}")')
            lines.append(block)
        code[point] = "\n".join(lines) or None
    blocks = [block for _, block in emit(plugins, "training_arguments", scene)]
    code["training_arguments"] = "\n".join(blocks) or None
    # the manual loop's wrapping (DDP, FSDP, ...), after the adapter, before the optimizer
    wrap = [block for _, block in emit(plugins, "wrap", scene)] if scene.scenario.runner == "manual" else []
    code["wrap"] = "\n".join(wrap) or None
    return code


def render_script(record: dict[str, Any], script_name: str, versions: str, recorded: str) -> str:
    scenario = scenario_of(record)
    family = FAMILIES[scenario.model.family]
    task = family.task(scenario.model)
    scene = Scene(scenario, record)
    code = point_code(scene)
    context = {
        "id": record["id"],
        "cell": record.get("cell") or "(derived from its environment)",
        "harness_version": record.get("harness_version", ""),
        "recorded": recorded,
        "versions": versions,
        "source": record.get("source", ""),
        "line": record.get("line", 1),
        "description": scenario.description,
        "script_name": script_name,
        "seed": scenario.model.seed,
        "device": literal(record.get("device", "cpu")),
        "precision": scenario.precision,
        # the gradients check as the pipeline judges it (a method may relax it by design)
        "checks": scenario.checks.model_copy(
            update={"gradients": METHODS[scenario.peft.method].gradient_mode(scenario.checks.gradients)}
        ),
        "checks_spec": scenario.checks.model_dump(),
        "optimizer": scenario.steps.optimizer,
        "quantized": BACKENDS[scenario.quantization.backend].quantizes,
        "requirements": ", ".join(_requirements(scenario)),
        "checkpoint_checks": _checkpoint_checks(scenario),
        "code": code,
        "input_require_grads": scenario.checkpointing.input_require_grads,
        **_dtypes(scenario),
        **_build(scenario, family, task, record, scene.functions),
        **_prepare(scenario),
        **_train(scenario, task, record),
        "distributed": _distributed(scenario, script_name),
    }
    context["imports"] = _imports(context, scene)
    context["steps"] = _steps(scenario, context)
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=False,  # Python source, not HTML: values are written with literal()
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Text from the record goes into source only through these: a docstring literal, one-line comments.
    environment.filters["docstring"] = lambda text: docstring(text.strip("\n") + "\n")
    environment.filters["one_line"] = one_line
    try:
        source = environment.get_template(TEMPLATE).render(context)
    except jinja2.TemplateError as error:
        raise ReproError(f"{record['id']}: cannot write its script: {error}") from None
    check_source(source, script_name)
    return source


def check_source(source: str, script_name: str) -> None:
    """The generated script must be Python that compiles, or nothing is written."""
    try:
        compile(source, script_name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        raise ReproError(f"the generated script does not compile ({error}); nothing written") from None


def _distributed(scenario: Scenario, script_name: str) -> dict[str, Any] | None:
    """What a distributed variant's script needs: torchrun's ranks, the group, what the checks skip."""
    from harness.distributed.rank import backend_for

    spec = scenario.distributed
    if spec.strategy == "none":
        return None
    return {
        "world_size": spec.world_size,
        "strategy": spec.strategy,
        "backend": literal(backend_for("cpu", spec.backend)),
        "cuda_backend": literal(backend_for("cuda", spec.backend)),
        "sharded": STRATEGIES[spec.strategy].shards_parameters,
        "owns_step": STRATEGIES[spec.strategy].owns_step and scenario.runner == "manual",
        "launch": f"torchrun --nproc_per_node {spec.world_size} {script_name}",
    }


def _dtypes(scenario: Scenario) -> dict[str, Any]:
    precision = scenario.precision
    weights = precision.mode == "weights" and precision.dtype != "fp32"
    autocast = precision.mode == "autocast" and precision.dtype != "fp32"
    return {
        "dtype": TORCH_DTYPES[precision.dtype] if weights else None,
        "autocast": TORCH_DTYPES[precision.dtype] if autocast else None,
    }


def _build(
    scenario: Scenario, family: Family, task: Task, record: dict[str, Any], functions: list[Any]
) -> dict[str, Any]:
    """What the points' code needs beside the plugins' blocks: inlined input builders and the
    functions the plugins' blocks call, hooks."""
    builder = task.inputs
    return {
        "family": family.name,
        "build_comment": f"the scenario's own model hook {scenario.model.hook}" if scenario.model.hook else "",
        "inputs": literal(scenario.inputs.model_dump(mode="json"), 0),
        "builder_source": inline_functions([builder, *_trainer_functions(scenario, task), *functions]).rstrip(),
        "groups": literal([list(pair) for pair in family.groups], 0),
        "default_group": literal(family.default_group),
        **_hooks(scenario, record),
    }


def _trainer_functions(scenario: Scenario, task: Task) -> list[Any]:
    if scenario.runner != "trainer" or scenario.steps.hook:
        return []
    return [_rows_function(task), _collate_function(task)]


def _rows_function(task: Task) -> Any:
    # The default row functions import the harness; what they call is plain.
    return _inputs.split_rows if task.rows is _default_rows else task.rows


def _collate_function(task: Task) -> Any:
    return _inputs.stack_rows if task.collate is _default_collate else task.collate


def _hooks(scenario: Scenario, record: dict[str, Any]) -> dict[str, Any]:
    sources = []
    calls: dict[str, str] = {}
    for kind, reference in (("model", scenario.model.hook), ("steps", scenario.steps.hook)):
        if not reference:
            continue
        module_name, _, function = reference.rpartition(":")
        path = _hook_file(module_name, record)
        variable = f"{kind}_hook_module"
        sources.append(
            {
                "variable": variable,
                "module_literal": literal(Path(path).stem),
                "source_literal": _source_literal(path.read_text(encoding="utf-8")),
                "file_literal": literal(path.name),
            }
        )
        calls[kind] = f"{variable}.{function}"
    return {
        "hook_sources": sources,
        "hook_references": ", ".join(r for r in (scenario.model.hook, scenario.steps.hook) if r),
        "model_hook": {"call": calls["model"]} if "model" in calls else None,
        "steps_hook": {"call": calls["steps"]} if "steps" in calls else None,
        "scenario_namespace": _namespace(scenario, 0) if sources else "None",
    }


def _hook_file(module_name: str, record: dict[str, Any]) -> Path:
    """Where `harness run` found the hook: beside the scenario file, else on sys.path."""
    import importlib.util

    candidate = Path(module_name if module_name.endswith(".py") else module_name.replace(".", "/") + ".py")
    beside = Path(record.get("source", "")).parent / candidate
    if beside.is_file():
        return beside
    spec = importlib.util.find_spec(module_name.removesuffix(".py"))
    if spec is not None and spec.origin and Path(spec.origin).is_file():
        return Path(spec.origin)
    raise ReproError(
        f"cannot find the hook module {module_name!r} (looked beside {record.get('source')} and on sys.path); "
        "run `harness repro` from the directory `harness run` ran in"
    )


def _source_literal(source: str) -> str:
    # Verbatim and readable where possible: a raw triple-quoted string the source cannot end early.
    for quote in ("'''", '"""'):
        if quote not in source and not source.rstrip("\n").endswith("\\"):
            return f"r{quote}{source}{quote}"
    return repr(source)


def _namespace(value: Any, indent: int) -> str:
    """The resolved scenario as nested SimpleNamespaces where pydantic has models (hooks read
    `scenario.steps.lr` as they would on the harness's object); mappings stay dicts."""
    if isinstance(value, BaseModel):
        pad = " " * (indent + 4)
        items = [f"{pad}{name}={_namespace(getattr(value, name), indent + 4)}," for name in type(value).model_fields]
        return "SimpleNamespace(\n" + "\n".join(items) + f"\n{' ' * indent})"
    if isinstance(value, list) and any(isinstance(item, BaseModel) for item in value):
        pad = " " * (indent + 4)
        return "[\n" + "\n".join(f"{pad}{_namespace(item, indent + 4)}," for item in value) + f"\n{' ' * indent}]"
    return literal(value.model_dump(mode="json") if isinstance(value, BaseModel) else _plain(value), indent)


def _plain(value: Any) -> Any:
    """JSON-like data of a field value (tuples as lists, as pydantic dumps them)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _prepare(scenario: Scenario) -> dict[str, Any]:
    spec = scenario.quantization
    if spec.prepare is None:
        return {"prepare": None}
    path = PATHS[scenario.checkpointing.via] if scenario.checkpointing.enabled else OFF
    kwargs = {"use_gradient_checkpointing": False, **path.prepare_kwargs(scenario.checkpointing), **spec.prepare_kwargs}
    return {"prepare": {"function": spec.prepare, "call": call(spec.prepare, kwargs, 4, positional=("model",))}}


def _train(scenario: Scenario, task: Task, record: dict[str, Any]) -> dict[str, Any]:
    steps = scenario.steps
    runner = scenario.runner
    context: dict[str, Any] = {
        "runner": runner,
        "train_steps": steps.train_steps,
        "lr": steps.lr,
        "repeat_forward": steps.repeat_forward,
        "retain_graph": steps.retain_graph,
        "second_backward": steps.second_backward,
        "requires_grad": scenario.inputs.requires_grad,
        "grad_input": task.grad_input,
        "grad_input_literal": literal(task.grad_input),
        "trainer_arguments": None,
        "precision_arguments": None,
        "rows_function": None,
        "collate_function": None,
    }
    if runner == "trainer" and not steps.hook:
        wanted = training._harness_arguments(scenario, _Everything(), record.get("device", "cpu"), "<workdir>")  # type: ignore[arg-type]
        wanted.pop("use_cpu", None)
        wanted["output_dir"] = Code("tempfile.mkdtemp()")
        code = literal(wanted, 8)
        precision = training._precision_arguments(scenario)
        context.update(
            trainer_arguments=code,
            precision_arguments=literal(precision) if precision else None,
            rows_function=_rows_function(task).__name__,
            collate_function=_collate_function(task).__name__,
        )
    context["train_comment"] = _train_comment(scenario, runner)
    return context


def _train_comment(scenario: Scenario, runner: str) -> str:
    steps = scenario.steps
    if steps.hook:
        return f"the scenario's own step hook {steps.hook}"
    if runner == "trainer":
        return f"transformers.Trainer for {steps.train_steps} step(s)"
    return f"{steps.train_steps} step(s) of a plain loop, optimizer {steps.optimizer}"


def _requirements(scenario: Scenario) -> list[str]:
    packages = ["torch", "transformers", "peft"]
    for plugin in plugins_of(scenario):
        packages += [p for p in plugin.requires if p not in packages]
    return packages


def _imports(context: dict[str, Any], scene: Scene) -> list[str]:
    names = {"math", "re", "sys", "traceback", *scene.imports}
    if context["runner"] == "trainer":
        names.update({"tempfile", "dataclasses"})
    if context["distributed"]:
        names.update({"os", "torch.distributed"})
    lines = [f"import {name}" for name in sorted(names)]
    modules = "ModuleType, SimpleNamespace" if context["hook_sources"] else "SimpleNamespace"
    return [*lines, f"from types import {modules}", "from typing import Any"]


def _steps(scenario: Scenario, context: dict[str, Any]) -> str:
    steps = ["build"]
    if context["quantized"]:
        steps.append(f"quantize ({scenario.quantization.backend})")
    if context["prepare"]:
        steps.append(f"prepare ({scenario.quantization.prepare})")
    if scenario.checkpointing.enabled:
        steps.append(f"checkpointing ({scenario.checkpointing.via})")
    if context["code"]["attach"]:
        steps.append(f"attach ({scenario.peft.method} through {scenario.peft.attach})")
    if context["distributed"]:
        spec = scenario.distributed
        steps.append(f"distribute ({spec.strategy} over {spec.world_size} ranks)")
    steps.append("train (" + context["train_comment"] + ")")
    return ", ".join(steps)
