"""Pictures drawn as inline SVG (no script, no external service): outcome counts as stacked bars."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harness import outcomes
from harness.report.model import Grid
from harness.report.store import Run

# One palette for the grid, the charts and the legend (the CSS reads it as variables).
COLOURS = outcomes.COLOURS
BAR_WIDTH = 520  # px of the longest bar


@dataclass
class Piece:
    outcome: str
    count: int
    x: float
    width: float


@dataclass
class Bar:
    label: str
    title: str
    total: int
    pieces: list[Piece] = field(default_factory=list)


def _bar(label: str, title: str, counts: Counter[str], scale: float) -> Bar:
    bar = Bar(label, title, sum(counts.values()))
    x = 0.0
    for outcome in sorted(counts, key=outcomes.rank):
        width = counts[outcome] * scale
        bar.pieces.append(Piece(outcome, counts[outcome], round(x, 2), round(width, 2)))
        x += width
    return bar


def cell_bars(grid: Grid) -> list[Bar]:
    """Outcome counts per cell, on one scale so that columns with fewer variants look shorter."""
    counts = [Counter() for _ in grid.cells]
    for (_, cell), entry in grid.entries.items():
        counts[cell][entry.outcome] += 1
    longest = max((sum(c.values()) for c in counts), default=0) or 1
    return [_bar(cell.label, cell.key, counts[cell.index], BAR_WIDTH / longest) for cell in grid.cells]


def run_bars(runs: list[Run], limit: int = 30) -> list[Bar]:
    """Outcome totals of the last runs of the history, oldest first."""
    shown = runs[-limit:]
    longest = max((run.record_count for run in shown), default=0) or 1
    return [
        _bar(
            f"#{run.number}",
            f"run {run.number}, {run.created_at}",
            Counter(run.summary.get("outcomes", {})),
            BAR_WIDTH / longest,
        )
        for run in shown
    ]
