"""Reference oracles: the variant's numbers against a computation known to be right.

* ``quant-error``: each quantized linear's output in the first training forward against the same
  layer unquantized (the weights saved before quantization) on the same input. The input and
  output are read by a forward hook during the training forward itself: no extra call.
* ``grad-parity``: the first training step with checkpointing on against the same step with
  checkpointing off. The reference runs in a process forked *before* the variant starts (so the
  variant's run cannot leak into it, nor it into the variant) and runs only after the variant
  has passed; it sends back gradient fingerprints (see ``GradientProbe``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import signal
import time
from collections.abc import Callable
from typing import Any

from harness.execution.intent import NOT_APPLICABLE, Result, result


class QuantCapture:
    """The first (input, output) of each quantized linear, read in the training forward."""

    def __init__(self, layers: dict[str, Any]):
        self.captured, self._handles = capture_first_calls(layers)

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()

    def compare(self, weights_file: str, bound: float) -> Result:
        errors = quant_errors(self.captured, weights_file)
        if not errors:
            return NOT_APPLICABLE  # no quantized layer ran (an earlier check says why)
        worst = worst_layer(errors)
        numbers = {"layers": len(errors), "worst_layer": worst, "worst_error": errors[worst], "bound": bound}
        failure = quant_error_failure(errors, bound)
        if failure:
            return result(False, failure, **numbers)
        return result(True, f"{len(errors)} layers within {bound} (worst {errors[worst]:.3g})", **numbers)


# The functions below are plain (no harness import): repro scripts inline them, so a script makes
# the quant-error check exactly as the harness does.


def capture_first_calls(layers: dict[str, Any]) -> tuple[dict[str, tuple[Any, Any]], list[Any]]:
    """Forward hooks keeping each layer's first (input, output); the handles remove them."""
    captured: dict[str, tuple[Any, Any]] = {}

    def keeper(name: str) -> Callable[..., None]:
        def record(module: Any, args: Any, output: Any) -> None:
            if name in captured or not args or not hasattr(output, "detach"):
                return
            captured[name] = (args[0].detach().clone(), output.detach().clone())

        return record

    handles = [module.register_forward_hook(keeper(name)) for name, module in layers.items()]
    return captured, handles


def quant_errors(captured: dict[str, tuple[Any, Any]], weights_file: str) -> dict[str, float]:
    """Each captured layer's relative output error against its unquantized weights in ``weights_file``."""
    import torch
    from safetensors import safe_open

    errors: dict[str, float] = {}
    if not captured:
        return errors
    with safe_open(weights_file, framework="pt") as saved:
        keys = set(saved.keys())
        for name, (inputs, output) in sorted(captured.items()):
            if f"{name}.weight" not in keys:
                continue
            weight = saved.get_tensor(f"{name}.weight").float()
            bias = saved.get_tensor(f"{name}.bias").float() if f"{name}.bias" in keys else None
            reference = torch.nn.functional.linear(inputs.float().to(weight.device), weight, bias)
            errors[name] = relative_error(output.float().cpu(), reference.cpu())
    return errors


def worst_layer(errors: dict[str, float]) -> str:
    return max(errors, key=lambda n: (not math.isfinite(errors[n]), errors[n]))


def quant_error_failure(errors: dict[str, float], bound: float) -> str | None:
    """The quant-error check's failure, None when every layer is within ``bound``."""
    if not errors:
        return None
    worst = worst_layer(errors)
    if not math.isfinite(errors[worst]):
        return f"{worst}: non-finite output (quantized or reference)"
    if errors[worst] > bound:
        return f"{worst}: relative error {errors[worst]:.3g} > {bound}"
    return None


def relative_error(output: Any, reference: Any) -> float:
    if output.shape != reference.shape:
        return math.inf
    if not (output.isfinite().all() and reference.isfinite().all()):
        return math.nan
    scale = float(reference.norm().item())
    return float((output - reference).norm().item()) / max(scale, 1e-12)


# -- grad parity --------------------------------------------------------------------------------


class ReferenceRun:
    """A forked twin that waits, then runs the reference variant when told to (or exits)."""

    def __init__(self, run: Callable[[], dict[str, Any]]):
        go_read, self._go = os.pipe()
        self._answer, answer_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the twin: nothing of the variant has run in this process
            os.close(self._go)
            os.close(self._answer)
            _twin(go_read, answer_write, run)
        os.close(go_read)
        os.close(answer_write)

    def collect(self, timeout: float) -> dict[str, Any]:
        """Start the reference and wait for its answer; {"error": ...} when it has none in time."""
        os.write(self._go, b"1")
        os.close(self._go)
        deadline = time.monotonic() + timeout
        chunks = []
        try:
            while True:
                left = deadline - time.monotonic()
                ready, _, _ = select.select([self._answer], [], [], max(left, 0))
                if not ready:
                    return {"error": f"the reference run did not finish within {timeout:.0f} s"}
                chunk = os.read(self._answer, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            self._end()
        try:
            return json.loads(b"".join(chunks) or b'{"error": "the reference run died"}')
        except ValueError:
            return {"error": "the reference run sent no readable answer"}

    def cancel(self) -> None:
        os.close(self._go)  # EOF: the twin exits without running
        self._end()

    def _end(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._answer)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _twin(go: int, answer: int, run: Callable[[], dict[str, Any]]) -> None:
    code = 0
    try:
        if os.read(go, 1):
            payload = json.dumps(run(), default=str).encode()
            view = memoryview(payload)
            while view:
                view = view[os.write(answer, view) :]
    except BaseException as exc:  # the twin must never return into the variant's code
        with contextlib.suppress(BaseException):
            os.write(answer, json.dumps({"error": f"{type(exc).__name__}: {exc}"[:500]}).encode())
        code = 1
    os._exit(code)


def grad_parity(main: dict[str, list[float]], reference: dict[str, Any], tolerance: float) -> Result:
    """Compare the first step's gradient fingerprints with checkpointing on (main) and off."""
    if "error" in reference:
        return {"passed": None, "detail": f"not measured: {reference['error']}"}
    theirs: dict[str, list[float]] = reference["fingerprints"]
    nonzero = {name for name, (norm, _) in main.items() if norm != 0}
    nonzero_ref = {name for name, (norm, _) in theirs.items() if norm != 0}
    only_off, only_on = sorted(nonzero_ref - nonzero), sorted(nonzero - nonzero_ref)
    numbers: dict[str, Any] = {"compared": len(nonzero & nonzero_ref), "tolerance": tolerance}
    if only_off or only_on:
        parts = []
        if only_off:
            parts.append(f"{len(only_off)} get a gradient only with checkpointing off (e.g. {only_off[0]})")
        if only_on:
            parts.append(f"{len(only_on)} only with checkpointing on (e.g. {only_on[0]})")
        return result(False, "; ".join(parts), only_without_checkpointing=len(only_off), **numbers)
    worst_name, worst = None, 0.0
    for name in sorted(nonzero):
        difference = _fingerprint_difference(main[name], theirs[name])
        if difference > worst or math.isnan(difference):
            worst_name, worst = name, difference
    numbers.update(worst_parameter=worst_name, worst_difference=worst)
    if math.isnan(worst) or worst > tolerance:
        return result(False, f"{worst_name}: gradient differs by {worst:.3g} (relative) > {tolerance}", **numbers)
    return result(True, f"{len(nonzero)} gradients match (worst {worst:.2g})", **numbers)


def _fingerprint_difference(ours: list[float], theirs: list[float]) -> float:
    norm = max(abs(ours[0]), abs(theirs[0]), 1e-12)
    return max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) / norm
