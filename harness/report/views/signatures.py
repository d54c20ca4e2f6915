"""Failures grouped by error signature: which scenarios and cells share one error."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harness.report.model import Entry, Grid, short_label


@dataclass
class SignatureGroup:
    id: str
    text: str
    label: str
    outcomes: Counter[str] = field(default_factory=Counter)
    entries: list[Entry] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def unexpected(self) -> int:
        return sum(e.unexpected for e in self.entries)

    def scenarios(self, grid: Grid) -> list[tuple[str, list[str]]]:
        """(variant id, cell keys) for every variant with this signature, most cells first."""
        cells: dict[str, list[str]] = {}
        for entry in self.entries:
            cells.setdefault(grid.rows[entry.row].id, []).append(grid.cells[entry.cell].key)
        return sorted(cells.items(), key=lambda item: (-len(item[1]), item[0]))

    def cells(self, grid: Grid) -> list[tuple[int, int]]:
        """(cell index, count) in column order."""
        return sorted(Counter(e.cell for e in self.entries).items())

    @property
    def example(self) -> Entry:
        return self.entries[0]


def group_by_signature(grid: Grid) -> list[SignatureGroup]:
    groups: dict[str, SignatureGroup] = {}
    for key in sorted(grid.entries):
        entry = grid.entries[key]
        signature = entry.signature
        if entry.outcome == "passed" or not signature:
            continue
        group = groups.get(signature["id"])
        if group is None:
            group = groups[signature["id"]] = SignatureGroup(
                signature["id"], signature.get("text", ""), short_label(entry.record)
            )
        group.outcomes[entry.outcome] += 1
        group.entries.append(entry)
    return sorted(groups.values(), key=lambda g: (-g.count, g.text))
