"""The static HTML report: one page that works from disk, with nothing fetched from anywhere.

The grid's data is inlined as JSON; each column's details (errors, logs, environment...) too
while the page stays small, else written beside it as ``details/cell-N.js`` files that the page
loads with a script tag on the first click into that column (a ``file://`` page cannot fetch).
Record texts are escaped by Jinja's autoescape in the server-rendered views, by JSON escaping in
the data, and by the script's use of ``textContent``.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shlex
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness import outcomes, packages
from harness.report.cells import UNBUILT
from harness.report.model import DIMENSIONS, OUTCOME_ORDER, Entry, Grid, gist, outcome_rank
from harness.report.payload import PastRun, details_chunk, grid_payload, script_json
from harness.report.store import Run
from harness.report.views.boundaries import AxisBoundary, RowBoundaries, find_boundaries
from harness.report.views.charts import BAR_WIDTH, COLOURS, cell_bars, run_bars
from harness.report.views.claims import judge_claims
from harness.report.views.regressions import KINDS, Comparison
from harness.report.views.signatures import group_by_signature

# Above this many bytes of details, they go to files beside the page (the page stays < 10 MB).
INLINE_DETAILS_LIMIT = 4_000_000
LIGHT_OUTCOMES = outcomes.LIGHT  # colours light enough for dark text
MAX_GROUPS = 200
MAX_SCENARIOS_PER_GROUP = 40
MAX_CHIPS = 16
MAX_CHANGES = 500
FULL_CHIP_LABELS = 6  # with more cells, chips name their column by number (#3), as the grid's header does
DETAILS_DIR = "details"
DETAILS_BLOCK = 100


@dataclass
class SiteInput:
    grid: Grid
    run: Run | None
    comparison: Comparison
    history: list[Run]
    problems: list[str]
    sources: list[str]
    title: str = "ft-harness compatibility report"
    past: list[PastRun] = field(default_factory=list)  # other runs of the history, to compare with


@dataclass
class SiteFiles:
    index: Path
    details_dir: Path | None
    size: int


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_text(name: str) -> str:
    return (resources.files("harness.report") / "templates" / name).read_text(encoding="utf-8")


def write_site(site: SiteInput, out_dir: Path, inline_limit: int = INLINE_DETAILS_LIMIT) -> SiteFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks = details_chunks(site.grid)
    details_dir = out_dir / DETAILS_DIR
    _remove_stale_details(details_dir)
    inline = sum(len(c) for c in chunks.values()) <= inline_limit
    if not inline:
        details_dir.mkdir(exist_ok=True)
        for key, chunk in chunks.items():
            (details_dir / f"cell-{key}.js").write_text(f'window.ftDetails("{key}",{chunk});\n', encoding="utf-8")
    page = render_page(site, [(key, Markup(c)) for key, c in chunks.items()] if inline else [])
    index_path = out_dir / "index.html"
    index_path.write_text(page, encoding="utf-8")
    return SiteFiles(index_path, None if inline else details_dir, index_path.stat().st_size)


def details_chunks(grid: Grid) -> dict[str, str]:
    """Each column's details in blocks of DETAILS_BLOCK rows, keyed "<cell>-<block>": a click
    loads one block, so opening a cell stays quick in a tall grid."""
    chunks = {}
    for cell in grid.cells:
        column = details_chunk(grid, cell)
        for block, start in enumerate(range(0, max(len(column), 1), DETAILS_BLOCK)):
            chunks[f"{cell.index}-{block}"] = script_json(column[start : start + DETAILS_BLOCK])
    return chunks


def _remove_stale_details(details_dir: Path) -> None:
    """A previous build's column files would be stale; only ours are removed, never other files."""
    for stale in details_dir.glob("cell-*.js"):
        stale.unlink()
    with contextlib.suppress(OSError):
        details_dir.rmdir()  # only when empty


def render_page(site: SiteInput, inline_details: list[tuple[int, Markup]]) -> str:
    grid = site.grid
    nonce = secrets.token_urlsafe(16)
    context: dict[str, Any] = {
        "title": site.title,
        "run": site.run,
        "sources": site.sources,
        "problems": site.problems,
        "rows": grid.rows,
        "cells": grid.cells,
        "entry_count": len(grid.entries),
        "comparison": site.comparison,
        "dimensions": DIMENSIONS,
        "outcomes": [{"name": o, "colour": COLOURS[o]} for o in OUTCOME_ORDER],
        "present_outcomes": {e.outcome for e in grid.entries.values()},
        "light": LIGHT_OUTCOMES,
        "label_width": 340,
        "cell_width": 128,
        "nonce": nonce,
        "css": Markup(template_text("report.css")),
        "js": Markup(template_text("report.js")),
        "grid_json": Markup(script_json(grid_payload(grid, site.run.number if site.run else None, site.past))),
        "inline_details": inline_details,
        "details_path_json": Markup(script_json(DETAILS_DIR + "/")),
        "details_block": DETAILS_BLOCK,
        "light_json": Markup(script_json(list(LIGHT_OUTCOMES))),
        "bar_width": BAR_WIDTH,
        "cell_bars": cell_bars(grid),
        "run_bars": run_bars(site.history),
        **signature_context(grid),
        **boundary_context(grid),
        **claim_context(grid),
        **change_context(grid, site.comparison),
    }
    return environment().get_template("report.html.j2").render(context)


def _chip(grid: Grid, entry: Entry) -> dict[str, Any]:
    cell = grid.cells[entry.cell]
    return {
        "row": entry.row,
        "cell": entry.cell,
        "outcome_index": OUTCOME_ORDER.index(entry.outcome) if entry.outcome in OUTCOME_ORDER else 0,
        "light": entry.outcome in LIGHT_OUTCOMES,
        "unexpected": entry.unexpected,
        "text": cell.label if len(grid.cells) <= FULL_CHIP_LABELS else f"#{cell.index + 1}",
        "title": f"{entry.outcome}{' (unexpected)' if entry.unexpected else ''} in {cell.key}",
    }


def signature_context(grid: Grid) -> dict[str, Any]:
    groups = group_by_signature(grid)
    shown = []
    for group in groups[:MAX_GROUPS]:
        by_variant: dict[str, list[Entry]] = {}
        for entry in group.entries:
            by_variant.setdefault(grid.rows[entry.row].id, []).append(entry)
        ordered = sorted(by_variant.items(), key=lambda item: (-len(item[1]), item[0]))
        shown.append(
            {
                "id": group.id,
                "text": group.text,
                "label": group.label,
                "gist": gist(group.example.record),
                "messages": _messages(group.entries),
                "links": upstream_links(group.entries),
                "count": group.count,
                "unexpected": group.unexpected,
                "outcomes": group.outcomes.most_common(),
                "scenario_count": len(by_variant),
                "cell_count": len({e.cell for e in group.entries}),
                "cells": [(grid.cells[c], n) for c, n in group.cells(grid)],
                "scenarios": [
                    {
                        "id": variant,
                        "chips": [_chip(grid, e) for e in entries[:MAX_CHIPS]],
                        "more": max(0, len(entries) - MAX_CHIPS),
                    }
                    for variant, entries in ordered[:MAX_SCENARIOS_PER_GROUP]
                ],
                "more_scenarios": max(0, len(ordered) - MAX_SCENARIOS_PER_GROUP),
            }
        )
    return {"signature_groups": shown, "more_groups": max(0, len(groups) - MAX_GROUPS)}


MAX_LINKS = 8
MAX_MESSAGES = 3
_VERSION = re.compile(r"\d+\.\d+")


def _messages(entries: list[Entry]) -> list[str]:
    """The raw messages behind a signature that name a version (the signature strips versions)."""
    found: list[str] = []
    for entry in entries:
        message = str((entry.record.get("error") or {}).get("message") or "")
        if _VERSION.search(message) and message not in found:
            found.append(message)
            if len(found) == MAX_MESSAGES:
                break
    return found


def upstream_links(entries: list[Entry]) -> list[dict[str, str]]:
    """Where a failure is discussed upstream: the scenarios' links, then the sources of their claims.
    Web addresses become links; anything else (a page kept in the repository) is shown as a path."""
    seen: dict[str, dict[str, str]] = {}
    for entry in entries:
        scenario = entry.record.get("scenario") or {}
        sources = [(link, "link") for link in scenario.get("links") or []]
        sources += [(claim.get("source"), "claim source") for claim in entry.record.get("claims") or []]
        for target, kind in sources:
            if isinstance(target, str) and target and target not in seen:
                seen[target] = {"target": target, "kind": kind, "web": _is_web(target)}
        if len(seen) >= MAX_LINKS:
            break
    return list(seen.values())[:MAX_LINKS]


def _is_web(target: str) -> bool:
    return target.lower().startswith(("https://", "http://"))


def boundary_context(grid: Grid) -> dict[str, Any]:
    # Variants that flip at exactly the same cells, the same way, are one finding shown once.
    patterns: dict[tuple[tuple[int, str], ...], list[RowBoundaries]] = {}
    for found in find_boundaries(grid):
        entries = grid.row_entries(found.row.index)
        pattern = tuple(sorted((e.cell, e.outcome) for e in entries if e.outcome not in UNBUILT))
        patterns.setdefault(pattern, []).append(found)
    shown = []
    for same in patterns.values():
        found = same[0]
        # Packages that change at the same cells are one finding: said once, the others named with it.
        groups: dict[Any, list[AxisBoundary]] = {}
        for axis in found.explaining:
            groups.setdefault(axis.partition, []).append(axis)
        closest = found.closest
        named = {a.package for a in found.explaining} | ({closest.package} if closest else set())
        shown.append(
            {
                "id": found.row.id,
                "variants": [b.row.id for b in same],
                "outcomes": sorted(found.outcomes.items(), key=lambda item: outcome_rank(item[0])),
                "explaining": [
                    {
                        "package": axes[0].package,
                        "sentence": axes[0].sentence(),
                        "together": [f"{a.package} {_transition(a)}" for a in axes[1:]],
                        "bisect": bisect_commands(grid, found.row.id, axes) if len(axes) > 1 else [],
                    }
                    for axes in groups.values()
                ],
                "closest": None
                if closest is None
                else {
                    "package": closest.package,
                    "sentence": closest.sentence(),
                    "exceptions": [_chip(grid, grid.entries[(found.row.index, c)]) for c in closest.exceptions],
                },
                "others": [
                    {"package": a.package, "sentence": a.sentence()} for a in found.axes if a.package not in named
                ],
            }
        )
    return {"boundaries": shown}


BISECTABLE = frozenset(packages.stack())


def bisect_commands(grid: Grid, variant: str, axes: list[AxisBoundary]) -> list[str]:
    """One `harness bisect` per package that changes with the others: the package searched between
    its versions on either side of the boundary, the others held at the passing side's versions, so
    each command says whether that package alone moves the outcome."""
    commands = []
    for axis in axes:
        ends = _good_and_bad(axis)
        if ends is None or axis.package not in BISECTABLE:
            continue
        good, bad, good_cell = ends
        pins = [
            f"--pin {other.package}=={version}"
            for other in axes
            if other is not axis
            and other.package in BISECTABLE
            and (version := grid.cells[good_cell].versions.get(other.package))
        ]
        commands.append(
            " ".join(
                ["harness bisect", shlex.quote(variant), "--package", axis.package, "--good", good, "--bad", bad, *pins]
            )
        )
    return commands


def _good_and_bad(axis: AxisBoundary) -> tuple[str, str, int] | None:
    """(good version, bad version, a cell on the good side) at a two-sided boundary with a pass."""
    if len(axis.segments) != 2:
        return None
    first, second = axis.segments
    if second.outcome == "passed" and first.outcome != "passed":
        return second.first, first.last, second.cells[0]
    if first.outcome == "passed" and second.outcome != "passed":
        return first.last, second.first, first.cells[0]
    return None


def _transition(axis: AxisBoundary) -> str:
    if len(axis.segments) == 2:
        return f"{axis.segments[0].last} \u2192 {axis.segments[1].first}"
    return f"({axis.sentence()})"


def claim_context(grid: Grid) -> dict[str, Any]:
    claims = []
    for claim in judge_claims(grid):
        # Cells where the same variant got the same verdict for the same reason share one line.
        lines: dict[tuple[Any, ...], dict[str, Any]] = {}
        for e in claim.evidence:
            key = (e.variant, e.verdict, e.actual, tuple(e.failed))
            line = lines.setdefault(
                key, {"variant": e.variant, "verdict": e.verdict, "actual": e.actual, "failed": e.failed, "chips": []}
            )
            line["chips"].append(_chip(grid, e.entry))
        claims.append(
            {
                "verdict": claim.verdict,
                "role": claim.role,
                "says": claim.says,
                "source": claim.source,
                "scenario_id": claim.scenario_id,
                "claimed": ", ".join(f"{k}: {v}" for k, v in claim.claimed.items() if v is not None and k != "when"),
                "counts": claim.counts.most_common(),
                "not_run": claim.not_run,
                "evidence": list(lines.values()),
            }
        )
    return {"claims": claims}


def change_context(grid: Grid, comparison: Comparison) -> dict[str, Any]:
    cell_index = {cell.key: cell for cell in grid.cells}
    changes = []
    for change in comparison.changes[:MAX_CHANGES]:
        cell = cell_index[change.cell]
        changes.append(
            {
                "kind": change.kind,
                "variant": change.variant,
                "cell": change.cell,
                "cell_label": cell.label,
                "cell_index": cell.index,
                "row": change.after.row,
                "before_outcome": change.before.outcome,
                "before_text": (change.before.signature or {}).get("text", "")
                if change.before.outcome != "passed"
                else "",
                "scenario_changed": change.scenario_changed,
                "after_outcome": change.after.outcome,
                "after_text": (change.after.signature or {}).get("text", "")
                if change.after.outcome != "passed"
                else "",
                "unexpected": change.after.unexpected,
            }
        )
    counts = comparison.counts()
    return {
        "changes": changes,
        "more_changes": max(0, len(comparison.changes) - MAX_CHANGES),
        "change_counts": [(kind, counts[kind]) for kind in KINDS],
    }
