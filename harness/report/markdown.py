"""A Markdown summary for GitHub's step summary: changes since the previous run come first."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from harness.report.model import OUTCOME_ORDER, Grid
from harness.report.store import Run
from harness.report.views.claims import judge_claims
from harness.report.views.regressions import KINDS, Comparison
from harness.report.views.signatures import group_by_signature

MAX_CHANGES = 40
MAX_SIGNATURES = 15
MAX_CELL = 160


def cell_text(value: object, limit: int = MAX_CELL) -> str:
    """Safe in a table cell: no HTML (GitHub renders it), no pipe, no line break."""
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False).replace("|", "\\|").replace("`", "'")


def summary_markdown(grid: Grid, run: Run | None, comparison: Comparison, problems: list[str]) -> str:
    lines = ["# ft-harness compatibility report", ""]
    where = f"Run #{run.number}, ingested {run.created_at}: " if run else ""
    lines += [f"{where}{len(grid.rows)} scenario variants x {len(grid.cells)} cells, {len(grid.entries)} results.", ""]
    lines += _changes(grid, comparison)
    lines += _cells(grid)
    lines += _signatures(grid)
    lines += _claims(grid)
    if problems:
        lines += ["## Problems reading the results", "", *[f"- {cell_text(p, 400)}" for p in problems], ""]
    return "\n".join(lines)


def _changes(grid: Grid, comparison: Comparison) -> list[str]:
    if comparison.previous_run is None:
        return ["## Changes", "", "First run in the history: nothing to compare with.", ""]
    counts = comparison.counts()
    headline = " · ".join(f"**{counts[k]}** {k}" for k in KINDS)
    lines = [f"## Changes since run #{comparison.previous_run}", "", headline, ""]
    if comparison.changes:
        lines += ["| change | scenario | cell | before | now |", "|---|---|---|---|---|"]
        for change in comparison.changes[:MAX_CHANGES]:
            lines.append(
                f"| {change.kind} | {cell_text(change.variant)} | {cell_text(change.cell)} "
                f"| {_outcome(change.before.record)} | {_outcome(change.after.record)} |"
            )
        if len(comparison.changes) > MAX_CHANGES:
            lines.append(f"\n… and {len(comparison.changes) - MAX_CHANGES} more (see the HTML report).")
        lines.append("")
    for label, values in (("New cells", comparison.new_cells), ("Cells no longer run", comparison.gone_cells)):
        if values:
            lines += [f"{label}: " + ", ".join(cell_text(v) for v in values), ""]
    return lines


def _outcome(record: dict) -> str:
    outcome = record.get("outcome", "?")
    signature = (record.get("signature") or {}).get("text", "")
    return cell_text(outcome + (f" — {signature}" if signature and outcome != "passed" else ""), 120)


def _cells(grid: Grid) -> list[str]:
    present = [o for o in OUTCOME_ORDER if any(e.outcome == o for e in grid.entries.values())]
    lines = ["## Cells", "", "| cell | " + " | ".join(present) + " | unexpected |", "|---" * (len(present) + 2) + "|"]
    for cell in grid.cells:
        entries = [e for (_, c), e in grid.entries.items() if c == cell.index]
        counts = Counter(e.outcome for e in entries)
        unexpected = sum(e.unexpected for e in entries)
        values = " | ".join(str(counts.get(o, 0)) for o in present)
        lines.append(f"| {cell_text(cell.key)} | {values} | {unexpected} |")
    return [*lines, ""]


def _signatures(grid: Grid) -> list[str]:
    groups = group_by_signature(grid)
    if not groups:
        return []
    lines = [
        f"## Failures by signature (top {min(len(groups), MAX_SIGNATURES)} of {len(groups)})",
        "",
        "| count | outcome | signature | scenarios | cells |",
        "|---|---|---|---|---|",
    ]
    for group in groups[:MAX_SIGNATURES]:
        outcomes = ", ".join(group.outcomes)
        scenarios = len({e.row for e in group.entries})
        cells = len({e.cell for e in group.entries})
        lines.append(f"| {group.count} | {outcomes} | {cell_text(group.text)} | {scenarios} | {cells} |")
    return [*lines, ""]


def _claims(grid: Grid) -> list[str]:
    claims = judge_claims(grid)
    if not claims:
        return []
    lines = ["## Claims", "", "| verdict | claim | source | cells |", "|---|---|---|---|"]
    for claim in claims:
        counts = ", ".join(f"{v} {n}" for v, n in claim.counts.most_common())
        lines.append(f"| **{claim.verdict}** | {cell_text(claim.says)} | {cell_text(claim.source, 80)} | {counts} |")
    return [*lines, ""]


def write_markdown(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
