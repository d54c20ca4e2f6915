"""Building one cell's environment, and recording a cell that cannot be built.

The installer is uv when available (``uv pip install --python <venv>``), else the venv's pip;
both read their settings (indexes, find-links) from the standard UV_* / PIP_* variables. An
environment whose pins did not change is reused as is (a marker file remembers them).
A resolution conflict is ``unresolvable``; any other installer failure is ``install_error``;
both become a record for every scenario of the cell, and the rest of the matrix goes on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.matrix.cells import Cell

MARKER = "ft-harness-cell.json"
# What uv and pip print when the requested pins cannot be satisfied together.
RESOLUTION_FAILURES = (
    "No solution found when resolving",
    "ResolutionImpossible",
    "Could not find a version that satisfies",
    "conflicting dependencies",
    "Cannot install",
)


@dataclass
class Build:
    outcome: Literal["ok", "unresolvable", "install_error"]
    installer: str
    message: str = ""
    seconds: float = 0.0
    reused: bool = False
    lock: dict[str, str] = field(default_factory=dict)


def installer(python: Path) -> list[str]:
    uv = find_uv()
    return [uv, "pip", "install", "--python", str(python)] if uv else [str(python), "-m", "pip", "install"]


def find_uv() -> str | None:
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # the `uv` PyPI package ships the binary
    except ImportError:
        return None
    return find_uv_bin()


def build_environment(venv: Path, cell: Cell, project: Path) -> Build:
    python = venv / "bin" / "python"
    command = [*installer(python), *cell.requirements, "-e", str(project)]
    wanted = {"requirements": cell.requirements, "project": str(project)}
    marker = venv / MARKER
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return Build("ok", command[0], reused=True, lock=freeze(python))
    started = time.monotonic()
    done = subprocess.run(command, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = round(time.monotonic() - started, 2)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        kind = "unresolvable" if any(text in output for text in RESOLUTION_FAILURES) else "install_error"
        return Build(kind, command[0], output[-4000:], seconds)
    marker.write_text(json.dumps(wanted))
    return Build("ok", command[0], output[-2000:], seconds, lock=freeze(python))


def freeze(python: Path) -> dict[str, str]:
    """Every distribution installed in the cell's environment, for an exact rebuild."""
    # The harness is installed in every cell: its own listing keeps one definition of the lock.
    script = "import json; from harness.execution.stack import installed_distributions as d; print(json.dumps(d()))"
    done = subprocess.run([str(python), "-c", script], check=False, capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def record_unbuilt(cell: Cell, build: Build, out: Path, keyword: str | None = None) -> int:
    """Write a record for every scenario of a cell that could not be built; returns how many."""
    from harness.results import ResultWriter
    from harness.runner import RunOptions, build_record, new_run_id
    from harness.selection import select

    _, variants = select(tuple(cell.scenarios), keyword or cell.keyword)
    options = RunOptions(out=out, device=cell.device, cell=cell.name)
    env = {"python": cell.python, "device": cell.device, "installer": build.installer, **cell.packages, "lock": {}}
    observation = {"outcome": build.outcome, "phase": None, "reason": _reason(build), "output_tail": build.message}
    writer = ResultWriter(out)
    run_id = new_run_id()
    for variant in variants:
        writer.write(build_record(variant, observation, env, options, run_id))
    return len(variants)


def _reason(build: Build) -> str:
    lines = [line for line in build.message.splitlines() if line.strip()]
    headline = next((line for line in lines if "error" in line.lower() or "because" in line.lower()), "")
    kind = "the pins cannot be resolved together" if build.outcome == "unresolvable" else "installation failed"
    return f"{kind}: {(headline or (lines[-1] if lines else '')).strip()[:300]}"
