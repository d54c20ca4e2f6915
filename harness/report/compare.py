"""Earlier runs of the history for the page: what any two runs are compared with, in the browser.

Only the store's public API is used (runs, records); each run's grid is built as the shown one is.
"""

from __future__ import annotations

from harness.report.model import build_grid
from harness.report.payload import PastRun
from harness.report.store import History, Run

MAX_PAST_RUNS = 20  # the page carries at most this many other runs (their differences only)


def past_runs(history: History, run: Run, limit: int = MAX_PAST_RUNS) -> list[PastRun]:
    """The runs nearest to ``run`` (before it first, then after), oldest first."""
    others = [r for r in history.runs() if r.number != run.number]
    nearest = sorted(others, key=lambda r: (r.number > run.number, abs(r.number - run.number)))[:limit]
    return [
        PastRun(r.number, r.label or "", r.created_at, build_grid(history.records(r.number)))
        for r in sorted(nearest, key=lambda r: r.number)
    ]
