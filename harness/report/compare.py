"""Earlier runs of the history for the page: what any two runs are compared with, in the browser.

Only the store's public API is used. The runs nearest to the shown one are loaded whole (their
scenario definitions tell an edited scenario from a stack change; their signature texts label
their cells); further ones only by outcome and signature id (``History.outcomes``, no record
bodies: ~50x cheaper), so a long history costs the report seconds, not minutes.
"""

from __future__ import annotations

from harness.report.model import Grid, build_grid
from harness.report.payload import PastRun
from harness.report.store import History, Run

MAX_PAST_RUNS = 30  # the page carries at most this many other runs (their differences only)
WHOLE_RUNS = 3  # of which the nearest are loaded whole


def past_runs(
    history: History,
    run: Run,
    loaded: dict[int, Grid] | None = None,
    limit: int = MAX_PAST_RUNS,
    whole: int = WHOLE_RUNS,
) -> list[PastRun]:
    """The runs nearest to ``run`` (before it first, then after), oldest first. ``loaded``: grids
    already built (the previous run's, for the comparison), reused rather than read again."""
    loaded = loaded or {}
    others = [r for r in history.runs() if r.number != run.number]
    nearest = sorted(others, key=lambda r: (r.number > run.number, abs(r.number - run.number)))[:limit]
    past = []
    for rank, other in enumerate(nearest):
        grid = loaded.get(other.number)
        if grid is None and rank < whole:
            grid = build_grid(history.records(other.number))
        outcomes = None if grid is not None else history.outcomes(other.number)
        past.append(PastRun(other.number, other.label or "", other.created_at, grid, outcomes))
    return sorted(past, key=lambda p: p.number)
