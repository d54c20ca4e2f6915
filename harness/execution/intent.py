"""Intent checks: what the scenario asked for against what took effect, with no answer given.

Each check reads the model only (module attributes, parameter dtypes, module types): no call is
made on it, so what the user's code does is unchanged. A check returns a result
``{"passed": bool | None, "detail": str, ...numbers}``; ``passed`` is None when the check does not
apply to the variant (nothing asked for, nothing to compare). The pipeline gathers what each
check needs at the point of the pipeline where it is true (dtypes at load, modules at training).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from harness.dsl.schema import TORCH_DTYPES

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario

Result = dict[str, Any]
NOT_APPLICABLE: Result = {"passed": None}


def result(passed: bool, detail: str, **numbers: Any) -> Result:
    return {"passed": passed, "detail": detail, **numbers}


def short_dtype(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


# -- checkpointing ------------------------------------------------------------------------------


def transformers_default_reentrant(version: str | None) -> bool | None:
    """Which implementation the installed transformers' enabling API picks when given no kwargs.

    transformers 4.35-4.x passes ``{"use_reentrant": True}`` (older releases call torch's
    checkpoint without it, whose default is reentrant); 5.x passes ``{"use_reentrant": False}``
    (``_activation_checkpointing_enable``). A caller passing ``{}`` (peft's
    prepare_model_for_kbit_training does) gets torch's own default instead, reentrant.
    """
    if version is None:
        return None
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version).release < (5,)
    except InvalidVersion:
        return None


def asked_reentrant(scenario: Scenario) -> bool | None:
    spec = scenario.checkpointing
    if spec.use_reentrant is not None:
        return spec.use_reentrant
    value = spec.kwargs.get("use_reentrant")
    return value if isinstance(value, bool) else None


def checkpointing_active(scenario: Scenario, effective: dict[str, Any]) -> Result:
    if not scenario.checkpointing.enabled:
        return NOT_APPLICABLE
    calls = effective.get("checkpoint_calls", {})
    in_forward = calls.get("reentrant", 0) + calls.get("non_reentrant", 0)
    flag = effective.get("is_gradient_checkpointing")
    numbers = {"checkpoint_calls": in_forward, "is_gradient_checkpointing": flag}
    via = scenario.checkpointing.via
    if in_forward == 0 or flag is False:
        return result(
            False,
            f"asked via {via}, but is_gradient_checkpointing={flag} and {in_forward} checkpoint calls in the forward",
            **numbers,
        )
    return result(True, f"{in_forward} checkpoint calls in the forward", **numbers)


def checkpoint_impl(scenario: Scenario, effective: dict[str, Any], transformers_version: str | None) -> Result:
    ran = effective.get("use_reentrant")
    if not scenario.checkpointing.enabled or ran is None:
        return NOT_APPLICABLE  # nothing ran: checkpointing-active says so
    asked = asked_reentrant(scenario)
    source = "asked for"
    if asked is None:
        asked = transformers_default_reentrant(transformers_version)
        source = f"transformers {transformers_version}'s default"
        if asked is None:
            return NOT_APPLICABLE
    wanted = _implementation(asked)
    numbers = {"expected": wanted, "ran": _implementation(ran), "source": source}
    if ran != asked:
        return result(False, f"{wanted} {source}, {_implementation(ran)} ran", **numbers)
    return result(True, f"{wanted} ({source})", **numbers)


def _implementation(reentrant: bool | str) -> str:
    if reentrant == "mixed":
        return "mixed"
    return "reentrant" if reentrant else "non-reentrant"


# -- dtypes -------------------------------------------------------------------------------------


def base_dtype(loaded: dict[int, str], base_parameters: list[Any], documented_by: str | None = None) -> Result:
    """Base weights whose dtype widened between load and the first training step.

    ``documented_by`` names a call the scenario asked for whose documented job is that upcast
    (prepare_model_for_kbit_training on a k-bit model): the upcast is then intended, and reported.
    """
    if not loaded:
        return NOT_APPLICABLE
    kept = [p for p in base_parameters if id(p) in loaded]  # weights created later (copied heads) had no load dtype
    upcast = [p for p in kept if _wider(short_dtype(p.dtype), loaded[id(p)])]
    bytes_before = sum(p.numel() * _itemsize(loaded[id(p)]) for p in kept)
    bytes_after = sum(p.numel() * p.element_size() for p in kept)
    numbers = {"bytes_at_load": bytes_before, "bytes_at_training": bytes_after, "upcast_tensors": len(upcast)}
    if upcast:
        moves = Counter(f"{loaded[id(p)]}->{short_dtype(p.dtype)}" for p in upcast)
        what = ", ".join(f"{n} {move}" for move, n in sorted(moves.items()))
        sizes = f"base weights {_mb(bytes_before)} at load, {_mb(bytes_after)} in training"
        if documented_by:
            return result(True, f"{what} by {documented_by}, as it documents; {sizes}", **numbers)
        return result(False, f"{what}; {sizes}", **numbers)
    return result(True, f"base weights kept their load dtypes ({_mb(bytes_after)})", **numbers)


FLOAT_SIZES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


def _itemsize(dtype: str) -> int:
    return FLOAT_SIZES.get(dtype, 1)


def _wider(now: str, then: str) -> bool:
    return now in FLOAT_SIZES and then in FLOAT_SIZES and FLOAT_SIZES[now] > FLOAT_SIZES[then]


def _mb(count: int) -> str:
    return f"{count / 2**20:.2f} MiB"


def adapter_dtype(scenario: Scenario, adapter_weights: list[tuple[str, Any, str]]) -> Result:
    """(name, parameter, implied dtype) of each adapter weight: all must be in their implied dtype."""
    if not adapter_weights:
        return NOT_APPLICABLE
    wrong = [
        (name, short_dtype(p.dtype), implied) for name, p, implied in adapter_weights if short_dtype(p.dtype) != implied
    ]
    found = dict(Counter(short_dtype(p.dtype) for _, p, _ in adapter_weights))
    implied = dict(Counter(implied for _, _, implied in adapter_weights))
    numbers = {"adapter_dtypes": found, "implied": implied, "wrong": len(wrong)}
    if wrong:
        name, got, wanted = wrong[0]
        autocast = scenario.peft.wrap_kwargs.get("autocast_adapter_dtype", "default")
        return result(
            False,
            f"{len(wrong)} of {len(adapter_weights)} adapter weights not in the implied dtype "
            f"(autocast_adapter_dtype={autocast}): e.g. {name} is {got}, implied {wanted}",
            **numbers,
        )
    return result(True, f"{len(adapter_weights)} adapter weights in {', '.join(sorted(implied))}", **numbers)


def autocasts_adapters(scenario: Scenario) -> bool:
    """Whether the attach call upcasts adapter weights to fp32: get_peft_model's
    ``autocast_adapter_dtype`` (peft >= 0.12, on by default); transformers' add_adapter
    (peft's inject_adapter_in_model) and older peft have no such step."""
    if scenario.peft.attach != "get_peft_model":
        return False
    import inspect

    from peft import get_peft_model

    if "autocast_adapter_dtype" not in inspect.signature(get_peft_model).parameters:
        return False
    return bool(scenario.peft.wrap_kwargs.get("autocast_adapter_dtype", True))


def implied_adapter_dtype(scenario: Scenario, base_layer: Any, autocast: bool) -> str:
    """Under autocast (see autocasts_adapters) adapter weights are fp32; otherwise an adapter
    computes in its base layer's dtype: the weight's own for a float layer, the compute dtype for a
    4-bit one, the model's load dtype for an int8 one."""
    if autocast:
        return "float32"
    weight = getattr(base_layer, "weight", None)
    if weight is not None and weight.is_floating_point():
        return short_dtype(weight.dtype)
    compute = getattr(base_layer, "compute_dtype", None)
    if compute is not None:
        return short_dtype(compute)
    # an int8 layer has neither: the scenario's load dtype is what it computes in
    precision = scenario.precision
    return TORCH_DTYPES[precision.dtype] if precision.mode == "weights" else "float32"


# -- structure ----------------------------------------------------------------------------------

BLOCK_INDEX = r"\.\d+(\.|$)"


def expected_quantized(linear_names: list[str], skip: list[str] | None) -> list[str]:
    """The linears a quantization backend is asked to convert: those inside the repeated blocks
    (a numbered path); heads and projections outside the blocks stay in float by the libraries'
    documented design, and `skip_modules` stays in float by request. (Inlined into repro scripts.)"""
    skip = skip or []
    return [name for name in linear_names if re.search(BLOCK_INDEX, name) and not any(s in name for s in skip)]


def unquantized(expected: list[str], converted: set[str], backend: str) -> str | None:
    """The `quantized` check's failure, None when every expected linear was converted. (Inlined.)"""
    missing = [name for name in expected if name not in converted]
    if not missing:
        return None
    return f"{len(missing)} of {len(expected)} block linears not quantized by {backend}: {', '.join(missing[:4])}"


def quantized(expected: list[str], converted: set[str], backend: str) -> Result:
    if not expected:
        return NOT_APPLICABLE
    numbers = {"expected": len(expected), "quantized": sum(name in converted for name in expected)}
    failure = unquantized(expected, converted, backend)
    if failure:
        return result(False, failure, **numbers)
    return result(True, f"{len(expected)} block linears quantized by {backend}", **numbers)


def adapter_targets(targets: Any, base_names: list[str], adapted: list[str], strict: bool = True) -> Result:
    """Each target name must be adapted wherever the model has a module of that name (``strict``),
    or at least once where the config itself narrows the targets (layers_to_transform, ...)."""
    if not isinstance(targets, list) or not targets:
        if not adapted:
            return result(False, f"no module adapted (target_modules={targets!r})", adapted=0)
        return result(True, f"{len(adapted)} modules adapted ({targets!r})", adapted=len(adapted))
    per_target: dict[str, list[int]] = {}
    for target in targets:
        present = sum(1 for name in base_names if _matches(name, target))
        hit = sum(1 for name in adapted if _matches(name, target))
        per_target[target] = [hit, present]
    short = {
        t: f"{hit} of {present}" for t, (hit, present) in per_target.items() if hit == 0 or (strict and hit < present)
    }
    numbers = {"targets": {t: {"adapted": h, "present": p} for t, (h, p) in per_target.items()}}
    if short:
        listed = ", ".join(f"{t}: {v}" for t, v in short.items())
        return result(False, f"targets not adapted where present: {listed}", **numbers)
    return result(True, f"{len(adapted)} modules adapted for {len(targets)} targets", **numbers)


def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith(f".{target}")
