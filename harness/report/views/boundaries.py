"""Per scenario, the versions where its outcome changes along each package axis.

Along one axis (say transformers) the cells are ordered by that package's version, and each
version takes the outcome most of its cells had (*mixed* on a tie). Consecutive versions with the
same outcome form a segment: "failed with transformers <= 4.57.6, passed from 5.0.0". Cells that
disagree with their version's outcome are the axis's *exceptions* (another package matters
there). An axis *explains* the change when it has no exception and no mixed version. Axes that
split the cells in exactly the same place are *confounded*: no cell of the matrix tells them apart.
In a pairwise matrix usually no axis explains alone; the one with the fewest exceptions is
shown, with its exceptions, as the closest single-package account.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harness.report.cells import HEADER_PACKAGES, UNBUILT, version_sort_key
from harness.report.model import Grid, Row

MIXED = "mixed"


@dataclass
class Segment:
    outcome: str
    first: str
    last: str
    cells: list[int] = field(default_factory=list)
    mix: Counter[str] = field(default_factory=Counter)


@dataclass
class AxisBoundary:
    package: str
    segments: list[Segment]
    exceptions: list[int] = field(default_factory=list)  # cells whose outcome is not their version's

    @property
    def explains(self) -> bool:
        pure = not self.exceptions and all(s.outcome != MIXED for s in self.segments)
        return pure and len({s.outcome for s in self.segments}) > 1

    @property
    def changes(self) -> bool:
        return len(self.segments) > 1

    @property
    def partition(self) -> frozenset[frozenset[int]]:
        return frozenset(frozenset(s.cells) for s in self.segments)

    def sentence(self) -> str:
        parts = []
        last_index = len(self.segments) - 1
        for i, segment in enumerate(self.segments):
            what = segment.outcome if segment.outcome != MIXED else _mix_text(segment.mix)
            if last_index == 0:
                parts.append(f"{what} with every {self.package} version")
            elif i == 0:
                parts.append(f"{what} with {self.package} <= {segment.last}")
            elif i == last_index:
                parts.append(f"{what} from {segment.first}")
            elif segment.first == segment.last:
                parts.append(f"{what} at {segment.first}")
            else:
                parts.append(f"{what} from {segment.first} to {segment.last}")
        return ", ".join(parts)


@dataclass
class RowBoundaries:
    row: Row
    outcomes: Counter[str]
    axes: list[AxisBoundary]

    @property
    def explaining(self) -> list[AxisBoundary]:
        return [axis for axis in self.axes if axis.explains]

    @property
    def closest(self) -> AxisBoundary | None:
        """With no explaining axis: the one with the fewest exceptions, preferring one that changes."""
        if self.explaining:
            return None
        # an axis along which the outcome changes says more than one where it only has exceptions
        return min(self.axes, key=lambda a: (not a.changes, len(a.exceptions), len(a.segments)), default=None)

    def confounded(self) -> list[list[str]]:
        """Groups of explaining axes that change at exactly the same cells."""
        groups: dict[frozenset[frozenset[int]], list[str]] = {}
        for axis in self.explaining:
            groups.setdefault(axis.partition, []).append(axis.package)
        return [packages for packages in groups.values() if len(packages) > 1]


def find_boundaries(grid: Grid) -> list[RowBoundaries]:
    found = []
    for row in grid.rows:
        outcomes = {e.cell: e.outcome for e in grid.row_entries(row.index) if e.outcome not in UNBUILT}
        if len(set(outcomes.values())) < 2:
            continue
        axes = [axis for p in HEADER_PACKAGES if (axis := _axis(grid, p, outcomes)) is not None]
        found.append(RowBoundaries(row, Counter(outcomes.values()), axes))
    return found


def _axis(grid: Grid, package: str, outcomes: dict[int, str]) -> AxisBoundary | None:
    by_version: dict[str, list[int]] = {}
    for cell in outcomes:
        version = grid.cells[cell].versions.get(package)
        if version:
            by_version.setdefault(version, []).append(cell)
    if len(by_version) < 2:
        return None
    axis = AxisBoundary(package, [])
    for version in sorted(by_version, key=version_sort_key):
        cells = by_version[version]
        mix = Counter(outcomes[c] for c in cells)
        ranked = mix.most_common()
        tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
        outcome = MIXED if tie else ranked[0][0]
        if outcome != MIXED:
            axis.exceptions += [c for c in cells if outcomes[c] != outcome]
        previous = axis.segments[-1] if axis.segments else None
        if previous is not None and previous.outcome == outcome and outcome != MIXED:
            previous.last = version
            previous.cells += cells
            previous.mix += mix
        else:
            axis.segments.append(Segment(outcome, version, version, list(cells), mix))
    return axis


def _mix_text(mix: Counter[str]) -> str:
    return "mixed (" + ", ".join(f"{outcome} {count}" for outcome, count in mix.most_common()) + ")"
