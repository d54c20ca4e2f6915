"""Hypothesis strategies over the DSL's dimensions, drawn so that shrinking moves toward defaults.

A drawn example is a *fields* mapping: the scenario sections with only the values that differ
from the schema's defaults (``{"model": {"family": "whisper"}, "peft": {"method": "prompt_tuning"}}``).
Every choice lists the default first and booleans mean "differs from the default", because
hypothesis shrinks each choice toward its first option / False: a shrunk example is then the one
with the fewest non-default fields and the simplest model, which is what a reader wants to see.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from harness.checkpointing import PATHS
from harness.distributed import LAUNCHERS, STRATEGIES
from harness.dsl.schema import Scenario
from harness.errors import InputError, choices_hint
from harness.families import FAMILIES
from harness.methods import METHODS
from harness.quantization import BACKENDS

Fields = dict[str, Any]

# name -> what varies when the dimension is explored (the others keep their defaults)
DIMENSIONS: dict[str, str] = {
    "family": "model family, its task (head) and its depth",
    "method": "PEFT method, how it is attached, its target modules and adapter dtype",
    "quantization": "quantization backend, its own options and prepare_model_for_kbit_training",
    "checkpointing": "gradient checkpointing on/off, its path, use_reentrant and the input-grads hook",
    "precision": "dtype, weights vs autocast and the fp16 GradScaler",
    "steps": "number of training steps, manual loop vs Trainer, optimizer",
    "distributed": "none, DDP, FSDP, FSDP2 or DeepSpeed over 2 ranks, launcher, and each strategy's own options",
}

DEFAULT_FAMILY = "llama"
TARGET_CHOICES: tuple[str | None, ...] = (None, "all-linear")
KBIT_PREPARE = "prepare_model_for_kbit_training"
MAX_TASKS = 3  # heads per family, at most (a test keeps this honest)


def parse_dimensions(values: Iterable[str]) -> tuple[str, ...]:
    """Names from ``--dimensions`` (repeatable, comma-separated); none given means all of them."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    for name in names:
        if name not in DIMENSIONS:
            raise InputError(f"unknown dimension '{name}' ({choices_hint(name, DIMENSIONS)})")
    chosen = set(names) or set(DIMENSIONS)
    return tuple(name for name in DIMENSIONS if name in chosen)  # canonical order, no repeats


def ordered(names: Sequence[str], preferred: Sequence[str]) -> list[str]:
    """``names`` in ``preferred`` order, registry additions last (so a new entry is explored too)."""
    return [n for n in preferred if n in names] + [n for n in names if n not in preferred]


def family_names() -> list[str]:
    """Simplest first (each family's explore_rank): shrinking moves a failure toward the front, so
    a failure that any decoder shows is reported on a tiny Llama, not on a vision-language model."""
    # auto is every architecture at once (harness sweep covers it), not one family to draw
    return sorted((n for n in FAMILIES.names() if n != "auto"), key=lambda name: (FAMILIES[name].explore_rank, name))


def method_names() -> list[str]:
    return ordered(METHODS.names(), ("lora",))


def first(default: Any, choices: Iterable[Any]) -> st.SearchStrategy[Any]:
    """Sampled with ``default`` at index 0: the value hypothesis shrinks to."""
    return st.sampled_from([default, *(c for c in choices if c != default)])


def put(fields: Fields, dotted: str, value: Any, default: Any = None) -> None:
    """Set a dotted field unless it equals its default: omitted fields are default fields."""
    if value == default:
        return
    *parents, leaf = dotted.split(".")
    target = fields
    for key in parents:
        target = target.setdefault(key, {})
    target[leaf] = value


def depth_override(family: str, layers: int) -> dict[str, Any]:
    """model.config overrides giving ``family``'s tiny model ``layers`` layers per stack."""
    return FAMILIES[family].depth(layers)


@st.composite
def scenario_fields(draw: st.DrawFn, dimensions: Sequence[str] = tuple(DIMENSIONS)) -> Fields:
    """One combination of the chosen dimensions, as non-default scenario fields.

    Every example draws the same choices in the same order, used or not (an adapter option
    without an adapter, a use_reentrant without checkpointing): hypothesis then shrinks each
    choice on its own, where a draw that depends on an earlier one would shift every later
    choice whenever the earlier one shrinks, and the shrinker would stall.
    """
    fields: Fields = {"model": {"family": DEFAULT_FAMILY}}
    for name, draw_dimension in DRAWS.items():
        if name in dimensions:
            draw_dimension(draw, fields)
    return fields


def _draw_family(draw: st.DrawFn, fields: Fields) -> None:
    family = draw(st.sampled_from(family_names()))
    # An index, not a family-specific list, so changing the family keeps this choice in place.
    task_index = draw(st.integers(0, MAX_TASKS - 1))
    layers = draw(first(None, [1]))
    fields["model"]["family"] = family
    tasks = list(FAMILIES[family].tasks)
    if 0 < task_index < len(tasks):  # index 0 (and any index the family lacks): its default task
        put(fields, "model.task", tasks[task_index])
    if layers is not None and depth_override(family, layers):
        put(fields, "model.config", depth_override(family, layers), {})


def _draw_method(draw: st.DrawFn, fields: Fields) -> None:
    name = draw(st.sampled_from(method_names()))
    attach = draw(first("get_peft_model", ["add_adapter"]))
    targets = draw(st.sampled_from(TARGET_CHOICES))
    fp16_adapters = draw(st.booleans())
    put(fields, "peft.method", name, "lora")
    method = METHODS[name]
    if not method.attaches:
        return
    put(fields, "peft.attach", attach, "get_peft_model")
    if method.targets is not None:
        put(fields, "peft.target_modules", targets)
    # peft >= 0.12 upcasts adapter weights to fp32 unless told not to; add_adapter has no such
    # keyword, so it applies to get_peft_model only (a TypeError there would be our doing).
    if attach == "get_peft_model" and fp16_adapters:
        put(fields, "peft.wrap_kwargs", {"autocast_adapter_dtype": False}, {})


def _draw_quantization(draw: st.DrawFn, fields: Fields) -> None:
    backend = draw(first("none", BACKENDS.names()))
    # The old prepare_model_for_int8_training is gone from peft (a catalog fact already).
    prepare = draw(first(None, [KBIT_PREPARE]))
    put(fields, "quantization.backend", backend, "none")
    # Every backend draws its own options, chosen or not (see scenario_fields: a fixed sequence of
    # draws lets each choice shrink on its own); only the chosen backend's are kept.
    for name in BACKENDS.names():
        options: Fields = {}
        BACKENDS[name].explore(draw, options)
        if name == backend:
            fields.update({key: {**fields.get(key, {}), **values} for key, values in options.items()})
    put(fields, "quantization.prepare", prepare)


def _draw_checkpointing(draw: st.DrawFn, fields: Fields) -> None:
    enabled = draw(st.booleans())
    via = draw(first("before-wrap", PATHS.names()))
    use_reentrant = draw(first(None, [True, False]))
    input_require_grads = draw(first(None, [True, False]))
    # The input-grads hook is its own call (enable_/disable_input_require_grads), made with or
    # without checkpointing, as users do.
    put(fields, "checkpointing.input_require_grads", input_require_grads)
    if not enabled:
        return
    put(fields, "checkpointing.enabled", True, False)
    put(fields, "checkpointing.via", via, "before-wrap")
    put(fields, "checkpointing.use_reentrant", use_reentrant)
    PATHS[via].explore(draw, fields)  # what the path implies (kbit-prepare: the prepare call)


def _draw_precision(draw: st.DrawFn, fields: Fields) -> None:
    dtype = draw(first("fp32", ["bf16", "fp16"]))
    mode = draw(first("weights", ["autocast"]))
    grad_scaler = draw(st.booleans())
    put(fields, "precision.dtype", dtype, "fp32")
    if dtype != "fp32":
        put(fields, "precision.mode", mode, "weights")
    if dtype == "fp16":
        put(fields, "precision.grad_scaler", grad_scaler, False)


def _draw_steps(draw: st.DrawFn, fields: Fields) -> None:
    train_steps = draw(st.integers(1, 3))
    runner = draw(first(None, ["trainer"]))
    optimizer = draw(first("adamw", ["sgd"]))
    put(fields, "steps.train_steps", train_steps, 1)
    via = fields.get("checkpointing", {}).get("via")
    if not (via and PATHS[via].implies_trainer):  # such a path implies the Trainer already
        put(fields, "steps.runner", runner)
    put(fields, "steps.optimizer", optimizer, "adamw")


def _draw_distributed(draw: st.DrawFn, fields: Fields) -> None:
    strategy = draw(first("none", STRATEGIES.names()))
    launcher = draw(first("inline", LAUNCHERS))
    put(fields, "distributed.strategy", strategy, "none")
    # every strategy draws its options, chosen or not (a fixed sequence of draws: see scenario_fields)
    for name in STRATEGIES.names():
        options: Fields = {}
        STRATEGIES[name].explore(draw, options)
        if name == strategy:
            for key, values in options.items():
                fields[key] = _merged(fields.get(key, {}), values)
    if strategy != "none":
        put(fields, "distributed.launcher", launcher, "inline")


def _merged(into: Fields, values: Fields) -> Fields:
    merged = dict(into)
    for key, value in values.items():
        merged[key] = _merged(merged.get(key, {}), value) if isinstance(value, dict) else value
    return merged


# In drawing order: the model first, so shrinking settles the family before the rest.
DRAWS = {
    "family": _draw_family,
    "method": _draw_method,
    "quantization": _draw_quantization,
    "checkpointing": _draw_checkpointing,
    "precision": _draw_precision,
    "steps": _draw_steps,
    "distributed": _draw_distributed,
}


def leaves(fields: Fields) -> dict[str, Any]:
    """``section.field`` -> value; free-form mappings (model.config, wrap_kwargs) are one field each."""
    return {f"{section}.{name}": value for section, values in fields.items() for name, value in values.items()}


def without(fields: Fields, dotted: str) -> Fields:
    """``fields`` with one field back at its default (the family back to the default family)."""
    section, name = dotted.split(".", 1)
    smaller = {key: dict(values) for key, values in fields.items()}
    if dotted == "model.family":
        smaller["model"]["family"] = DEFAULT_FAMILY
        return smaller
    smaller[section].pop(name, None)
    return {key: values for key, values in smaller.items() if values}


def non_default(fields: Fields) -> dict[str, Any]:
    """The fields a reader must notice: every leaf except the default family."""
    return {k: v for k, v in leaves(fields).items() if not (k == "model.family" and v == DEFAULT_FAMILY)}


def fields_key(fields: Fields) -> str:
    """A stable short id of a combination (cache key and variant id)."""
    return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


def to_scenario(fields: Fields) -> Scenario | None:
    """The combination validated by the real schema; None where the schema rejects it."""
    data = {"id": f"explore-{fields_key(fields)}", "description": "a combination drawn by harness explore", **fields}
    try:
        return Scenario.model_validate(data)
    except ValidationError:
        return None
