"""The copyable command that reruns one variant with the harness: exact installs, then `harness run`."""

from __future__ import annotations

import shlex

from harness.report.cells import Cell
from harness.report.records import RecordDict

# Installed first, so that a reader sees the stack before the long tail of the lock.
STACK_FIRST = ("torch", "transformers", "peft", "bitsandbytes", "accelerate")


def ordered_pins(cell: Cell) -> list[str]:
    pins = cell.pins()
    names = [p for p in STACK_FIRST if p in pins] + sorted(p for p in pins if p not in STACK_FIRST)
    return [f"{name}=={pins[name]}" for name in names]


def install_lines(cell: Cell) -> list[str]:
    lines = ["python3 -m venv repro-env && . repro-env/bin/activate"]
    torch = cell.pins().get("torch", "")
    if "+" in torch:
        lines.append(f"# torch {torch} is a local build: point pip at its wheel index (PIP_EXTRA_INDEX_URL)")
    lines.append("pip install " + " ".join(shlex.quote(pin) for pin in ordered_pins(cell)))
    return lines


def run_lines(record: RecordDict) -> list[str]:
    """After the installs: the harness at its recorded version, then this one variant."""
    version = record.get("harness_version") or "the recorded version"
    run = ["harness", "run", record.get("source", "scenarios"), "--id", record["id"]]
    if record.get("device") == "cuda":
        run += ["--device", "cuda"]
    return [
        f"pip install --no-deps -e .   # in an ft-harness checkout ({version})",
        " ".join(shlex.quote(part) for part in run),
    ]


def reproduce_command(cell: Cell, record: RecordDict) -> str:
    return "\n".join([*install_lines(cell), *run_lines(record)])
