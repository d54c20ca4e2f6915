"""A Markdown summary for GitHub's step summary: changes since the previous run come first.

Record texts are untrusted: signatures go into code spans (where nothing renders), every other
text has its Markdown escaped and its web addresses broken, so no record can put a link, an image
(a tracking pixel) or HTML into the summary.
"""

from __future__ import annotations

import html
import re
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


# Markdown that makes emphasis, links or images; "[" alone is left (no reference can be defined
# in a one-line table cell, and variant ids are full of brackets), "](" and "![" are broken.
_EMPHASIS = re.compile(r"([\\*_~`])")
_LINK_OPENERS = (("](", "]\\("), ("![", "!\\["), ("]:", "]\\:"))
# GitHub turns bare addresses, @mentions and #123 into links: a zero-width space breaks them.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|file)(:)|(www)(\.)|([@#])(?=\w)")
ZWSP = "\u200b"


def _one_line(value: object, limit: int) -> str:
    text = " ".join(str(value or "").split())
    return text[: limit - 1] + "…" if len(text) > limit else text


def cell_text(value: object, limit: int = MAX_CELL) -> str:
    """Safe in a table cell: no HTML (GitHub renders it), no Markdown, no link, no pipe, no line break."""
    text = html.escape(_one_line(value, limit), quote=False)
    text = _EMPHASIS.sub(r"\\\1", text)
    for raw, escaped in _LINK_OPENERS:
        text = text.replace(raw, escaped)
    text = _AUTOLINK.sub(lambda m: "".join(g for g in m.groups() if g) + ZWSP if m.group(5) else _break(m), text)
    return text.replace("|", "\\|")


def _break(match: re.Match[str]) -> str:
    scheme, colon, www, dot = match.group(1, 2, 3, 4)
    return f"{scheme}{ZWSP}{colon}" if scheme else f"{www}{ZWSP}{dot}"


def code_span(value: object, limit: int = MAX_CELL) -> str:
    """A code span in a table cell: shown verbatim (``LoraConfig.__init__()``), nothing rendered.
    The fence is longer than any run of backticks inside; a pipe still needs its backslash."""
    text = _one_line(value, limit)
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


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
    if comparison.scenario_edits:
        lines += [
            f"{comparison.scenario_edits} of these ran an edited scenario definition (marked *scenario edited*): "
            "not stack regressions.",
            "",
        ]
    if comparison.changes:
        lines += ["| change | scenario | cell | before | now |", "|---|---|---|---|---|"]
        for change in comparison.changes[:MAX_CHANGES]:
            kind = change.kind + (" (scenario edited)" if change.scenario_changed else "")
            lines.append(
                f"| {kind} | {cell_text(change.variant)} | {cell_text(change.cell)} "
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
    outcome = str(record.get("outcome", "?"))
    signature = (record.get("signature") or {}).get("text", "")
    return cell_text(outcome) + (f" {code_span(signature, 120)}" if signature and outcome != "passed" else "")


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
        lines.append(f"| {group.count} | {outcomes} | {code_span(group.text)} | {scenarios} | {cells} |")
    return [*lines, ""]


def _claims(grid: Grid) -> list[str]:
    claims = judge_claims(grid)
    if not claims:
        return []
    lines = ["## Claims", "", "| verdict | claim | source | cells |", "|---|---|---|---|"]
    for claim in claims:
        counts = ", ".join(f"{v} {n}" for v, n in claim.counts.most_common())
        verdict, says, source = cell_text(claim.verdict), cell_text(claim.says), cell_text(claim.source, 80)
        lines.append(f"| **{verdict}** | {says} | {source} | {counts} |")
    return [*lines, ""]


def write_markdown(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
