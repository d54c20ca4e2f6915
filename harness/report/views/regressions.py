"""What changed since the previous run: new failures, newly silent, fixed, changed signatures.

Entries are matched by variant id and cell key. Unbuildable cells count as failing (the stack
broke), skipped as neither passing nor failing. A change whose resolved scenario differs between
the two records (someone edited its definition) is labelled so, and is not a stack regression.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness import outcomes
from harness.report.model import Entry, Grid, scenario_fingerprint

KINDS = ("new failure", "newly silent", "fixed", "changed signature")
FAILING = outcomes.FAILING


@dataclass
class Change:
    kind: str
    variant: str
    cell: str
    before: Entry
    after: Entry

    @property
    def scenario_changed(self) -> bool:
        """The two records ran different scenario definitions: the edit, not the stack, may explain it."""
        return scenario_fingerprint(self.before.record) != scenario_fingerprint(self.after.record)


@dataclass
class Comparison:
    previous_run: int | None
    changes: list[Change] = field(default_factory=list)
    new_variants: list[str] = field(default_factory=list)
    gone_variants: list[str] = field(default_factory=list)
    new_cells: list[str] = field(default_factory=list)
    gone_cells: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def counts(self) -> dict[str, int]:
        return {kind: len(self.of_kind(kind)) for kind in KINDS}

    @property
    def regressed(self) -> bool:
        """A new failure or newly silent result on the same scenario definition: the stack regressed."""
        return any(c.kind in ("new failure", "newly silent") and not c.scenario_changed for c in self.changes)

    @property
    def scenario_edits(self) -> int:
        return sum(c.scenario_changed for c in self.changes)


def compare(current: Grid, previous: Grid | None, previous_run: int | None) -> Comparison:
    comparison = Comparison(previous_run)
    if previous is None:
        return comparison
    before, after = previous.by_key(), current.by_key()
    for key in sorted(after):
        if key in before and (kind := classify(before[key].outcome, after[key].outcome, before[key], after[key])):
            comparison.changes.append(Change(kind, key[0], key[1], before[key], after[key]))
    old_rows, new_rows = {r.id for r in previous.rows}, {r.id for r in current.rows}
    old_cells, new_cells = {c.key for c in previous.cells}, {c.key for c in current.cells}
    comparison.new_variants = sorted(new_rows - old_rows)
    comparison.gone_variants = sorted(old_rows - new_rows)
    comparison.new_cells = sorted(new_cells - old_cells)
    comparison.gone_cells = sorted(old_cells - new_cells)
    comparison.changes.sort(key=lambda c: (KINDS.index(c.kind), c.variant, c.cell))
    return comparison


def classify(old: str, new: str, before: Entry, after: Entry) -> str | None:
    return change_kind(old, (before.signature or {}).get("id"), new, (after.signature or {}).get("id"))


def change_kind(old: str, old_signature: str | None, new: str, new_signature: str | None) -> str | None:
    if old in FAILING and new == "passed":
        return "fixed"
    if old not in FAILING and new == "silent":
        return "newly silent"
    if old not in FAILING and new in FAILING:
        return "new failure"
    if old in FAILING and new in FAILING and (old != new or old_signature != new_signature):
        return "changed signature"
    return None


def count_changes(
    before: dict[tuple[str, str], tuple[str, str | None]], after: dict[tuple[str, str], tuple[str, str | None]]
) -> dict[str, int]:
    """Change counts from (variant, cell) -> (outcome, signature id) maps: the history's summary."""
    counts = dict.fromkeys(KINDS, 0)
    for key, (outcome, signature) in after.items():
        if key in before and (kind := change_kind(*before[key], outcome, signature)):
            counts[kind] += 1
    return counts
