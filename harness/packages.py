"""The stack the harness is about, once: which distributions, in which order, under which short names.

The core (torch, transformers, peft, accelerate, and trl where installed) is listed here; the
quantization backends' distributions come from the backends themselves (``requires`` on each
entry of ``harness.quantization.BACKENDS``), so a new backend adds its package everywhere: the
recorded environment, cell names, report columns, `when:` hints, bisect and repro pins.
Only the registry and the backend modules are imported (no torch), and only when first asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

PYTHON = "python"
# What the models, adapters and training are made of; explore's found entries hold from the
# versions they were found on for these and the quantization packages.
MODEL_STACK = ("torch", "transformers", "peft")
# The Trainer's runtime, and a package used where installed.
RUNTIME = ("accelerate",)
OPTIONAL = ("trl",)
# Short names in cell names and report headers; any other package keeps its own name.
SHORT_NAMES = {PYTHON: "py", "transformers": "tf", "bitsandbytes": "bnb", "accelerate": "acc"}


@cache
def quantization_packages() -> tuple[str, ...]:
    """The distributions the registered quantization backends need, in registry order."""
    from harness.quantization import BACKENDS

    found: list[str] = []
    for name in BACKENDS.names():
        found += _names(getattr(BACKENDS[name], "requires", None))
    return tuple(dict.fromkeys(found))


def _names(requires: str | Iterable[str] | None) -> list[str]:
    if requires is None:
        return []
    return [requires] if isinstance(requires, str) else list(requires)


def bounded() -> tuple[str, ...]:
    """The packages a found failure is bounded by (``>=`` the version it was found on)."""
    return (*MODEL_STACK, *quantization_packages())


def required() -> tuple[str, ...]:
    """The stack without optional packages, in install order: what identifies a cell."""
    return (*bounded(), *RUNTIME)


def stack() -> tuple[str, ...]:
    """Every package of the stack, in install order (torch first)."""
    return (*required(), *OPTIONAL)


def cell_order() -> tuple[str, ...]:
    """Order of the parts of a cell name: py3.11-torch2.13.0-tf4.57.6-peft0.17.1-bnb0.49.2-acc1.10.1."""
    return (PYTHON, *required())


def header_order() -> tuple[str, ...]:
    """Order of the report's column headers and version filters: the most telling first."""
    return ("transformers", "peft", *quantization_packages(), "torch", *RUNTIME, PYTHON)


def short_name(package: str) -> str:
    return SHORT_NAMES.get(package, package)


def logger_name(package: str) -> str:
    """The logging name a distribution's modules log under (optimum-quanto: optimum.quanto)."""
    return package.replace("-", ".")
