"""Published claims (the seed pages and every other `claim:`), judged cell by cell.

Cells that could not be built ran nothing, so they are no evidence for or against a claim: they
are only counted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.report.cells import UNBUILT
from harness.report.model import Entry, Grid


@dataclass
class Evidence:
    entry: Entry
    variant: str
    cell: int
    verdict: str
    held: list[str]
    failed: list[str]
    actual: str


@dataclass
class ClaimView:
    scenario_id: str
    source: str
    role: str
    says: str
    claimed: dict[str, Any]
    evidence: list[Evidence] = field(default_factory=list)
    not_run: int = 0  # cells that could not be built: no evidence either way

    @property
    def verdict(self) -> str:
        """confirmed or refuted when every judged cell agrees, else partly."""
        verdicts = {e.verdict for e in self.evidence}
        return verdicts.pop() if len(verdicts) == 1 else "partly"

    @property
    def counts(self) -> Counter[str]:
        return Counter(e.verdict for e in self.evidence)


def judge_claims(grid: Grid) -> list[ClaimView]:
    claims: dict[tuple[str, ...], ClaimView] = {}
    for key in sorted(grid.entries):
        entry = grid.entries[key]
        unbuilt = entry.outcome in UNBUILT
        for judged in entry.record.get("claims") or []:
            claimed = judged.get("claimed") or {}
            identity = (
                entry.record.get("scenario_id", ""),
                judged.get("source", ""),
                judged.get("role", ""),
                judged.get("says", ""),
                json.dumps(claimed, sort_keys=True),
            )
            view = claims.get(identity)
            if view is None:
                view = claims[identity] = ClaimView(identity[0], identity[1], identity[2], identity[3], claimed=claimed)
            if unbuilt:
                view.not_run += 1
                continue
            view.evidence.append(
                Evidence(
                    entry=entry,
                    variant=grid.rows[entry.row].id,
                    cell=entry.cell,
                    verdict=judged.get("verdict", "partly"),
                    held=list(judged.get("held") or []),
                    failed=list(judged.get("failed") or []),
                    actual=judged.get("actual", ""),
                )
            )
    for view in claims.values():
        view.evidence.sort(key=lambda e: (e.variant, e.cell))
    judged = [view for view in claims.values() if view.evidence]
    return sorted(judged, key=lambda c: (c.scenario_id, c.source, c.role, c.says))
