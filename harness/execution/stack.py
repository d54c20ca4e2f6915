"""Importing and warming the ML stack, and fingerprinting it.

Runs in the supervisor process. Forking after torch has run multi-threaded ops deadlocks the
child (measured here), so everything is pinned to one thread *before* the first op.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
from collections.abc import Iterable, Iterator
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from harness import packages

# Every package of the stack (quantization backends' too), recorded with its version or None.
FINGERPRINT_PACKAGES = (*packages.stack(), "safetensors", "numpy")
# Kept quiet in workers: the progress bars go to stderr and mean nothing in a record.
QUIET_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "0",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BITSANDBYTES_NOWELCOME": "1",
}


# What the stack printed while importing, kept once per environment (env["import_messages"]).
MAX_IMPORT_MESSAGES = 50
MAX_IMPORT_MESSAGE = 500


@contextlib.contextmanager
def import_messages() -> Iterator[list[str]]:
    """The lines written to stdout and stderr meanwhile (fd level: C extensions too), in order.

    They are passed on to the real stderr as well (the supervisor's log). Libraries print them
    at import (bitsandbytes: "compiled without GPU support"; a CPU kernel it could not load):
    facts about the environment, recorded once in its `env` rather than as every variant's noise.
    """
    lines: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, original in zip((1, 2), saved, strict=True):
                os.dup2(original, fd)
                os.close(original)
            sink.seek(0)
            printed = sink.read()
            with contextlib.suppress(OSError):
                os.write(2, printed)
            lines += message_lines(printed.decode("utf-8", "backslashreplace"))


def message_lines(text: str) -> list[str]:
    """Distinct non-blank lines of ``text``, in order, clipped and capped."""
    seen: dict[str, None] = {}
    for raw in text.splitlines():
        line = raw.rstrip()[:MAX_IMPORT_MESSAGE]
        if line.strip():
            seen.setdefault(line)
    return list(seen)[:MAX_IMPORT_MESSAGES]


def import_stack() -> None:
    """Import what every variant needs; raises what the import raises."""
    import torch

    torch.set_num_threads(1)
    # RuntimeError: interop threads were already set by an earlier import
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    import peft  # noqa: F401
    import transformers

    transformers.utils.logging.disable_progress_bar()
    # An unusable bitsandbytes is a fact about the quantized variants only: they record it.
    if find_spec("bitsandbytes") is not None:
        with contextlib.suppress(Exception):
            import bitsandbytes  # noqa: F401


def preload(families: list[str], trainer: bool, models: Iterable[tuple[str, str]] = ()) -> None:
    """Resolve the lazy transformers classes the coming variants use, once, before forking.

    ``models``: (architecture, task) of the auto family's variants, whose modeling modules and tiny
    configs are then imported and computed here once instead of in every forked child."""
    import transformers

    from harness.families import FAMILIES

    for name in families:
        family = FAMILIES[name]
        for attribute in (family.config_class, *(task.model_class for task in family.tasks.values())):
            getattr(transformers, attribute, None)
    if models:
        from harness.families.auto import preload_architectures

        preload_architectures(models)
    if trainer:
        getattr(transformers, "Trainer", None)
        getattr(transformers, "TrainingArguments", None)


def warm_up() -> None:
    """One tiny LoRA step so first-use costs (kernels, lazy modules) are paid before forking."""
    from harness.dsl.schema import Scenario
    from harness.execution.pipeline import run_variant

    scenario = Scenario.model_validate(
        {
            "id": "warm-up",
            "description": "warm-up",
            "model": {"family": "llama"},
            "timeout": 60,
        }
    )
    run_variant(scenario, "cpu", lambda phase: None)


def fingerprint(device: str, with_torch: bool = True) -> dict[str, Any]:
    """Versions and hardware that make a record reproducible (torch details need the import)."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
        "device": device,
    }
    for package in FINGERPRINT_PACKAGES:
        try:
            env[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            env[package] = None
    env["lock"] = installed_distributions()
    if with_torch:
        env.update(_torch_details(device))
    return env


def installed_distributions() -> dict[str, str]:
    """Every installed distribution and its version: what rebuilds this environment exactly."""
    found: dict[str, str] = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(name.lower().replace("_", "-"), distribution.version)
    return dict(sorted(found.items()))


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _torch_details(device: str) -> dict[str, Any]:
    try:
        import torch
    except Exception:
        return {}
    details: dict[str, Any] = {
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        # which vectorised CPU kernels torch (and bitsandbytes, reading it) dispatch to
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    if device == "cuda" and torch.cuda.is_available():
        details["device_name"] = torch.cuda.get_device_name(0)
        details["cuda_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
    else:
        details["device_name"] = details["cpu"]
    return details


def _cpu_name() -> str:
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
