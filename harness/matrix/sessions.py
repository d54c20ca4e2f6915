"""What the noxfile's matrix sessions do; the noxfile itself only declares them.

Importable from nox's own environment: only light dependencies (pydantic, PyYAML, packaging,
covertable), never torch.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import outcomes
from harness.errors import InputError
from harness.matrix.build import Build, build_environment, record_unbuilt
from harness.matrix.cells import Cell, Plan, load_plan

RUN_VARIABLE = "HARNESS_MATRIX_RUN"
# Another matrix file than matrix.yaml, for nox and `harness matrix` alike.
FILE_VARIABLE = "HARNESS_MATRIX_FILE"
# `nox -s "matrix(<cell>)" -- --no-fail-on-unexpected`: record unexpected results, stay green.
NO_FAIL_FLAG = "--no-fail-on-unexpected"
UNBUILT_OUTCOMES = outcomes.CELL_OUTCOMES


def matrix_file(root: Path) -> Path:
    """The matrix file nox reads: $HARNESS_MATRIX_FILE, else the project's matrix.yaml."""
    return Path(os.environ.get(FILE_VARIABLE) or root / "matrix.yaml")


def plan_or_none(matrix_file: Path) -> tuple[Plan | None, str | None]:
    """The resolved matrix, or the clear message saying why it could not be resolved."""
    try:
        return load_plan(matrix_file), None
    except InputError as error:
        print(f"error: {error.format()}", file=sys.stderr)
        return None, error.format()


def run_directory(root: Path) -> Path:
    """reports/matrix/<run>: one folder per matrix run, shared by parallel nox processes."""
    run = os.environ.setdefault(RUN_VARIABLE, datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    return root / "reports" / "matrix" / run


def latest_run(root: Path) -> Path | None:
    runs = sorted(p for p in (root / "reports" / "matrix").glob("*") if p.is_dir())
    return runs[-1] if runs else None


def session_name(cell: Cell) -> str:
    return f"matrix({cell.name})"


def run_cell(session: Any, cell: Cell, root: Path) -> None:
    """Build (or reuse) the cell's environment and run its scenarios there."""
    run_dir = run_directory(root)
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / f"{cell.name}.jsonl"
    out.unlink(missing_ok=True)  # a rerun of this cell in the same matrix run replaces it
    build = _build(session, cell, root, run_dir)
    if build.outcome != "ok":
        count = record_unbuilt(cell, build, out)
        session.warn(f"{cell.name}: {build.outcome}; recorded for its {count} scenario variants in {out}")
        return
    fail_on_unexpected = NO_FAIL_FLAG not in session.posargs
    passed_on = [arg for arg in session.posargs if arg != NO_FAIL_FLAG]
    keyword = ["-k", cell.keyword] if cell.keyword else []
    command = [
        "python",
        "-m",
        "harness",
        "run",
        *cell.scenarios,
        *keyword,
        "--cell",
        cell.name,
        "--device",
        cell.device,
        "-j",
        str(cell.jobs),
        "--out",
        str(out),
    ]
    # exit 1 (a result differs from its expectation) is a finding: the records are kept either way,
    # then the session fails on it unless told to keep going (exit 2, bad input, fails it at once)
    session.run(*command, *passed_on, success_codes=[0, 1])
    unexpected = unexpected_results(out)
    if unexpected and fail_on_unexpected:
        session.error(
            f"{cell.name}: {len(unexpected)} unexpected results ({'; '.join(unexpected[:3])}"
            f"{'; ...' if len(unexpected) > 3 else ''}) in {out}; `-- {NO_FAIL_FLAG}` keeps the session green"
        )
    elif unexpected:
        session.warn(f"{cell.name}: {len(unexpected)} unexpected results in {out} ({NO_FAIL_FLAG})")


def sweep_cell(session: Any, cell: Cell, root: Path) -> None:
    """Build (or reuse) the cell's environment and sweep every architecture there (`harness sweep`):
    reports/matrix/<run>/<cell>.sweep.jsonl (and .sweep.md), read by `nox -s report` with the rest,
    so the report shows architectures x versions."""
    run_dir = run_directory(root)
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / f"{cell.name}.sweep.jsonl"
    out.unlink(missing_ok=True)
    build = _build(session, cell, root, run_dir)
    if build.outcome != "ok":
        session.warn(f"{cell.name}: {build.outcome}; nothing to sweep (see {cell.name}.cell.json)")
        return
    command = ["python", "-m", "harness", "sweep", "--cell", cell.name, "--device", cell.device]
    command += ["-j", str(cell.jobs), "--out", str(out), "--markdown", str(out.with_suffix(".md"))]
    # what the sweep finds (failures, silent runs) is its result, not the session's failure;
    # bad input (exit 2) still fails it
    session.run(*command, *session.posargs, success_codes=[0, 1])


def _build(session: Any, cell: Cell, root: Path, run_dir: Path) -> Build:
    """The cell's environment, built or reused, and its sidecar (pins, build outcome, lock)."""
    build = build_environment(Path(session.virtualenv.location), cell, root)
    how = "reused" if build.reused else f"built in {build.seconds} s"
    session.log(f"{cell.name}: environment {how} with {Path(build.installer).name}")
    sidecar = {**cell.to_json(), "build": build.outcome, "installer": build.installer, "lock": build.lock}
    (run_dir / f"{cell.name}.cell.json").write_text(json.dumps(sidecar, indent=1))
    return build


def unexpected_results(out: Path) -> list[str]:
    """'<id>: <first mismatch>' for each record of a scenario that ran and did not do what it
    expects. An unbuildable cell's records are facts about the stack, not about the scenario."""
    from harness.results import read_results

    found = []
    for record in read_results([out]).records:
        if not record.as_expected and record.outcome not in UNBUILT_OUTCOMES:
            why = record.expectation.mismatches[0] if record.expectation.mismatches else record.outcome
            found.append(f"{record.id}: {why}")
    return found
