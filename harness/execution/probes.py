"""Instruments that observe a variant without changing what it does.

They run inside the variant's own process: warnings and log capture, the phase clock, which
checkpoint implementation actually ran, and which trainable parameters received gradients.
"""

from __future__ import annotations

import logging
import math
import re
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness import packages

CAPTURED_LOGGERS = (*(packages.logger_name(p) for p in packages.stack()), "")
MAX_RECORDS = 100
MAX_MESSAGE = 2000
TRACEBACK_FRAMES = 8


def short_path(filename: str) -> str:
    """site-packages paths shortened to the package ('transformers/modeling_utils.py')."""
    for marker in ("site-packages/", "dist-packages/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    match = re.search(r"(harness/.*)$", filename)
    return match.group(1) if match else filename


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """Head and tail of a long text: a module repr can push the informative end far away."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} ... [{len(text) - limit} chars] ... {text[-half:]}"


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[dict[str, Any]]):
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a library's malformed log call must not break the variant
            message = str(record.msg)
        self.sink.append({"logger": record.name, "level": record.levelname, "message": _clip(message)})


@dataclass
class Capture:
    """Python warnings and library log records raised while the variant runs."""

    warnings: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)

    @contextmanager
    def active(self) -> Iterator[Capture]:
        _forget_once_only_messages()
        handler = _ListHandler(self.logs)
        saved = []
        for name in CAPTURED_LOGGERS:
            logger = logging.getLogger(name)
            saved.append((logger, logger.level))
            # bitsandbytes and peft explain failures at INFO; the big libraries are chatty there
            logger.setLevel(logging.INFO if name in ("bitsandbytes", "peft") else logging.WARNING)
            logger.addHandler(handler)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield self
            finally:
                for logger, level in saved:
                    logger.removeHandler(handler)
                    logger.setLevel(level)
                self.warnings.extend(
                    {
                        "category": w.category.__name__,
                        "message": _clip(str(w.message)),
                        "source": f"{short_path(w.filename)}:{w.lineno}",
                    }
                    for w in caught
                )

    def records(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(warnings, logs): WARNING-level log records count as warnings; both deduplicated."""
        log_warnings = [
            {"category": f"log:{r['logger']}", "message": r["message"], "source": r["logger"]}
            for r in self.logs
            if r["level"] == "WARNING"
        ]
        other_logs = [r for r in self.logs if r["level"] != "WARNING"]
        return _dedupe(self.warnings + log_warnings), _dedupe(other_logs)


def _dedupe(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item in items:
        key = tuple(sorted(item.items()))
        if key in merged:
            merged[key]["count"] += 1
        else:
            merged[key] = {**item, "count": 1}
    return list(merged.values())[:MAX_RECORDS]


def _forget_once_only_messages() -> None:
    """Forked from a warm parent, we inherit its 'already warned once' memory; reset it.

    Python's own per-module `__warningregistry__` needs no walk: `simplefilter` bumps the filters'
    version, and each registry clears itself at its next warning. Walking the ~3,400 modules did
    it by hand and cost a forked child ~6,000 copy-on-write page faults (26 ms of a ~100 ms child).
    """
    once = getattr(logging.Logger, "warning_once", None)
    if hasattr(once, "cache_clear"):
        once.cache_clear()


class PhaseClock:
    """The phase reached, where in training it is, and the time spent in each phase.

    ``step`` and ``forward`` locate a training failure: the training step (1-based) and the
    number of top-level forward calls so far. A forward that follows a backward (seen by a hook on
    the forward's output) or an optimizer step starts a new step, so two forwards before one
    backward stay in one step. `on_enter` tells the supervisor.
    """

    def __init__(self, on_enter: Callable[[str], None]):
        self.on_enter = on_enter
        self.phase = "build"
        self.step = 0
        self.forward = 0
        self._backward_since_forward = False
        self.timings: dict[str, float] = {}
        self._since = time.perf_counter()
        on_enter(self.phase)

    def enter(self, phase: str) -> None:
        if phase == self.phase:
            return
        self._close()
        self.phase = phase
        self._backward_since_forward |= phase == "step"
        self.on_enter(phase)

    def backward_started(self) -> None:
        """Autograd reached the forward's output: the next forward belongs to a new step."""
        self._backward_since_forward = True

    def forward_call(self) -> None:
        """A top-level forward starts (the model's own pre-hook calls this)."""
        if self.step == 0 or self._backward_since_forward:
            self.step += 1
        self._backward_since_forward = False
        self.forward += 1
        self.enter("forward")

    @property
    def in_first_step(self) -> bool:
        return self.step <= 1

    def location(self) -> dict[str, int] | None:
        """Where a failure in training happened; None before the first forward."""
        if self.step == 0 or self.phase not in ("forward", "backward", "step"):
            return None
        return {"step": self.step, "forward": self.forward}

    def _close(self) -> None:
        now = time.perf_counter()
        self.timings[self.phase] = round(self.timings.get(self.phase, 0.0) + now - self._since, 6)
        self._since = now

    def stop(self) -> dict[str, float]:
        self._close()
        return self.timings


@contextmanager
def checkpoint_calls(counts: dict[str, int], counting: Callable[[], bool]) -> Iterator[dict[str, int]]:
    """Count which torch.utils.checkpoint implementation really runs (reentrant or not).

    transformers holds `checkpoint` in a functools.partial, so we instrument the two module
    globals that `checkpoint()` dispatches to instead of the function itself.
    """
    import torch.utils.checkpoint as ckpt

    counts.setdefault("reentrant", 0)
    counts.setdefault("non_reentrant", 0)
    original_function = getattr(ckpt, "CheckpointFunction", None)
    original_generator = getattr(ckpt, "_checkpoint_without_reentrant_generator", None)

    if original_function is not None:

        class CountingCheckpointFunction(original_function):  # type: ignore[misc, valid-type]
            @staticmethod
            def forward(ctx: Any, *args: Any) -> Any:
                if counting():
                    counts["reentrant"] += 1
                return original_function.forward(ctx, *args)

        ckpt.CheckpointFunction = CountingCheckpointFunction
    if original_generator is not None:

        def counting_generator(*args: Any, **kwargs: Any) -> Any:
            if counting():
                counts["non_reentrant"] += 1
            return original_generator(*args, **kwargs)

        ckpt._checkpoint_without_reentrant_generator = counting_generator
    try:
        yield counts
    finally:
        if original_function is not None:
            ckpt.CheckpointFunction = original_function
        if original_generator is not None:
            ckpt._checkpoint_without_reentrant_generator = original_generator


class GradientProbe:
    """Which trainable parameters got a gradient (non-zero, finite) in the first training step.

    Tensor hooks only read the gradient. Besides counts per group, each parameter's gradient gets
    a fingerprint (its norm and its projection on a fixed pseudo-random direction, seeded by the
    parameter's name) so that another run of the same step can be compared without shipping the
    gradients themselves across the process boundary.
    """

    def __init__(
        self,
        named_parameters: list[tuple[str, Any]],
        group_of: Callable[[str], str],
        in_first_step: Callable[[], bool],
    ):
        self.parameters = [(name, p) for name, p in named_parameters if p.requires_grad]
        self.group_of = group_of
        self.in_first_step = in_first_step
        self.seen: dict[str, dict[str, Any]] = {}
        self._handles = [p.register_hook(self._hook(name)) for name, p in self.parameters]

    def _hook(self, name: str) -> Callable[[Any], None]:
        def record(grad: Any) -> None:
            if grad is None or not self.in_first_step():
                return
            values = grad.detach().float()
            entry = self.seen.setdefault(name, {"nonzero": False, "finite": True, "sum": None})
            entry["nonzero"] |= bool((values != 0).any().item())  # NaN counts as non-zero
            entry["finite"] &= bool(values.isfinite().all().item())
            # several hook calls in one step (tied weights, a second backward) add up, as .grad does
            entry["sum"] = values.clone() if entry["sum"] is None else entry["sum"] + values

        return record

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()

    def summary(self) -> dict[str, Any]:
        groups: dict[str, dict[str, int]] = {}
        for name, _ in self.parameters:
            group = groups.setdefault(self.group_of(name), {"trainable": 0, "with_grad": 0, "nonzero_grad": 0})
            group["trainable"] += 1
            if name in self.seen:
                group["with_grad"] += 1
                group["nonzero_grad"] += int(self.seen[name]["nonzero"])
        return {
            "trainable_tensors": len(self.parameters),
            "trainable_elements": sum(p.numel() for _, p in self.parameters),
            "groups": groups,
            "nonfinite_grads": sum(1 for entry in self.seen.values() if not entry["finite"]),
        }

    def fingerprints(self) -> dict[str, list[float]]:
        """name -> [norm, projection] of the first step's gradient, for parameters that got one."""
        return {name: fingerprint(name, entry["sum"]) for name, entry in self.seen.items() if entry["sum"] is not None}


def fingerprint(name: str, values: Any) -> list[float]:
    import zlib

    import torch

    generator = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    direction = torch.randn(values.numel(), generator=generator, dtype=torch.float32)
    flat = values.reshape(-1).cpu()
    return [float(flat.norm().item()), float(flat.dot(direction).item())]


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """Type, message, chained causes and the innermost traceback frames of an exception."""
    causes = []
    current: BaseException | None = exc
    seen = {id(exc)}
    while current is not None:
        nxt, relation = current.__cause__, "cause"
        if nxt is None and not current.__suppress_context__:
            nxt, relation = current.__context__, "context"
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        causes.append({"type": _qualified(type(nxt)), "message": _clip(str(nxt)), "relation": relation})
        current = nxt
    frames = traceback.extract_tb(exc.__traceback__)[-TRACEBACK_FRAMES:]
    return {
        "type": _qualified(type(exc)),
        "bases": [cls.__name__ for cls in type(exc).__mro__ if cls not in (object, BaseException)],
        "message": _clip(str(exc)),
        "causes": causes,
        "traceback": [
            {"file": short_path(f.filename), "line": f.lineno, "function": f.name, "code": f.line or ""} for f in frames
        ],
    }


def _qualified(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"
