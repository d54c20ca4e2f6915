"""The data the HTML grid's script reads: compact on purpose, so 25,000 cells stay small.

Each grid cell is one integer: outcome index (4 bits), unexpected flag (1 bit), signature index
(the rest); -1 where a variant has no record in a cell. Details (errors, logs, environment...) are
only needed when a cell is clicked, so they are kept per column, apart from the grid.

Earlier runs of the history come as differences from this one: for each, only the entries whose
state (outcome, signature, scenario definition) is not this run's, so the page can compare any two
runs, mark what changed since any run and draw a cell's history without a copy of every run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness import outcomes
from harness.report.cells import HEADER_PACKAGES, SHORT_NAMES, Cell
from harness.report.model import DIMENSIONS, OUTCOME_ORDER, Entry, Grid, gist, scenario_fingerprint, short_label
from harness.report.repro.command import install_lines, run_lines

MISSING = -1
OUTPUT_TAIL = 6000  # characters of a variant's output kept in the report (the record keeps more)


def script_json(value: Any) -> str:
    """JSON that is safe inside <script>: no '</script>', no HTML comment, no line separators."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


class Signatures:
    """The distinct signatures of a page, each once: [id, text, type label, gist, raw message]."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {"": 0}
        self.table: list[list[str]] = [["", "", "", "", ""]]
        self.stubs: set[str] = set()  # known by id only, so far

    def of(self, entry: Entry) -> int:
        signature = entry.signature
        if not signature or entry.outcome == "passed":
            return 0
        key = signature["id"]
        if key not in self.index or key in self.stubs:
            message = str((entry.record.get("error") or {}).get("message") or "")[:500]
            row = [key, signature.get("text", ""), short_label(entry.record), gist(entry.record), message]
            if key in self.stubs:
                self.stubs.discard(key)
                self.table[self.index[key]] = row
            else:
                self.index[key] = len(self.table)
                self.table.append(row)
        return self.index[key]

    def of_id(self, outcome: str, key: str | None) -> int:
        """A signature known only by its id (a run read without its records): its text is only
        known if another record of the page carries it."""
        if not key or outcome == "passed":
            return 0
        if key not in self.index:
            self.index[key] = len(self.table)
            self.stubs.add(key)
            self.table.append([key, f"signature {key} (its text is not in the runs this page loaded)", "", "", ""])
        return self.index[key]


@dataclass
class PastRun:
    """Another run of the history, for comparisons in the page: its grid when loaded whole, else
    only (variant, cell key) -> (outcome, signature id), without scenario definitions."""

    number: int
    label: str
    created_at: str
    grid: Grid | None = None
    outcomes: dict[tuple[str, str], tuple[str, str | None]] | None = None


def grid_payload(grid: Grid, run_number: int | None = None, past: list[PastRun] | None = None) -> dict[str, Any]:
    signatures = Signatures()
    dims = {name: sorted({row.dims[name] for row in grid.rows}) for name in DIMENSIONS}
    codes = []
    for row in grid.rows:
        line = []
        for cell in grid.cells:
            entry = grid.entries.get((row.index, cell.index))
            line.append(MISSING if entry is None else _code(entry, signatures))
        codes.append(line)
    scenarios = Interned()
    # scenario definitions only matter when there is another run to compare with
    row_scenarios = [_row_scenarios(grid, row.index, scenarios) if past else 0 for row in grid.rows]
    return {
        "outcomes": list(OUTCOME_ORDER),
        "failing": sorted(outcomes.FAILING, key=outcomes.rank),
        "packages": list(HEADER_PACKAGES),  # version filters and headers, the most telling first
        "shortNames": SHORT_NAMES,
        "dimensions": dims,
        "cells": [_cell(cell, grid) for cell in grid.cells],
        "rows": [
            {
                "id": row.id,
                "scenario": row.scenario_id,
                "source": f"{row.source}:{row.line}",
                "description": row.description,
                "tags": row.tags,
                "dims": [dims[name].index(row.dims[name]) for name in DIMENSIONS],
            }
            for row in grid.rows
        ],
        "grid": codes,
        "rowScenarios": row_scenarios,
        "history": _history(grid, run_number, past or [], signatures, scenarios),
        # last: filled while the history is encoded
        "signatures": signatures.table,
    }


def _outcome_index(entry: Entry) -> int:
    return _outcome_index_of(entry.outcome)


def _outcome_index_of(outcome: str) -> int:
    return OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else len(OUTCOME_ORDER) - 1


def _code(entry: Entry, signatures: Signatures) -> int:
    return _outcome_index(entry) | (int(entry.unexpected) << 4) | (signatures.of(entry) << 5)


class Interned:
    """Scenario fingerprints as small numbers (the page only needs to tell them apart)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        # id(scenario) -> number: each scenario object is hashed once (records read from the
        # history share one object per distinct scenario; they all live as long as the page build)
        self.seen: dict[int, int] = {}

    def of(self, entry: Entry) -> int:
        key = id(entry.record.get("scenario"))
        if key not in self.seen:
            self.seen[key] = self.index.setdefault(scenario_fingerprint(entry.record), len(self.index))
        return self.seen[key]


def _row_scenarios(grid: Grid, row: int, scenarios: Interned) -> int | list[int]:
    """The row's scenario definition: one number when every cell ran the same one (the rule)."""
    found = [scenarios.of(entry) if (entry := grid.entries.get((row, cell.index))) else MISSING for cell in grid.cells]
    distinct = {value for value in found if value != MISSING}
    return distinct.pop() if len(distinct) == 1 else found


def _history(
    grid: Grid, run_number: int | None, past: list[PastRun], signatures: Signatures, scenarios: Interned
) -> dict[str, Any]:
    if not past:
        return {
            "runs": [{"number": run_number, "label": "", "created_at": "", "current": True}] if run_number else [],
            "differences": {},
        }
    current: dict[tuple[int, int], list[int]] = {
        key: [_outcome_index(entry), signatures.of(entry), scenarios.of(entry)] for key, entry in grid.entries.items()
    }
    rows = {row.id: row.index for row in grid.rows}
    cells = {cell.key: cell.index for cell in grid.cells}
    runs, differences = [], {}
    for earlier in past:
        states = _states(earlier, rows, cells, signatures, scenarios)
        # Only what differs from this run; [row, cell] alone: no record there in that run. A run
        # read by outcomes only has no scenario definition (-1): outcome and signature decide.
        changed = [[r, c, *state] for (r, c), state in states.items() if _differs(current.get((r, c)), state)]
        changed += [[r, c] for (r, c) in current if (r, c) not in states]
        differences[str(earlier.number)] = sorted(changed)
        runs.append({"number": earlier.number, "label": earlier.label, "created_at": earlier.created_at})
    if run_number is not None:
        runs.append({"number": run_number, "label": "", "created_at": "", "current": True})
    runs.sort(key=lambda run: run["number"])
    return {"runs": runs, "differences": differences}


def _differs(current: list[int] | None, state: list[int]) -> bool:
    if current is None:
        return True
    if state[2] < 0:  # no scenario definition known for that run
        return current[:2] != state[:2]
    return current != state


def _states(
    earlier: PastRun, rows: dict[str, int], cells: dict[str, int], signatures: Signatures, scenarios: Interned
) -> dict[tuple[int, int], list[int]]:
    """[outcome, signature, scenario definition] of a run's entries, on this page's rows and cells."""
    states: dict[tuple[int, int], list[int]] = {}
    if earlier.grid is not None:
        grid = earlier.grid
        for (r, c), entry in grid.entries.items():
            row, cell = rows.get(grid.rows[r].id), cells.get(grid.cells[c].key)
            if row is not None and cell is not None:
                states[(row, cell)] = [_outcome_index_of(entry.outcome), signatures.of(entry), scenarios.of(entry)]
        return states
    for (variant, key), (outcome, signature) in (earlier.outcomes or {}).items():
        row, cell = rows.get(variant), cells.get(key)
        if row is not None and cell is not None:
            states[(row, cell)] = [_outcome_index_of(outcome), signatures.of_id(outcome, signature), -1]
    return states


def _cell(cell: Cell, grid: Grid) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in grid.rows:
        entry = grid.entries.get((row.index, cell.index))
        if entry is not None:
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
    return {
        "key": cell.key,
        "label": cell.label,
        "header": cell.header,
        "versions": cell.versions,
        "device": cell.device,
        "counts": counts,
        "env": cell.env,
        "lock": cell.lock,
        # the installs are the same for every variant of the column; details add the run line
        "install": "\n".join(install_lines(cell)),
    }


def details_chunk(grid: Grid, cell: Cell) -> list[dict[str, Any] | None]:
    """Every detail of one column, aligned with the grid's rows (None where no record)."""
    return [
        _details(entry, cell) if (entry := grid.entries.get((row.index, cell.index))) else None for row in grid.rows
    ]


def _details(entry: Entry, cell: Cell) -> dict[str, Any]:
    record = entry.record
    tail = record.get("output_tail") or ""
    keep = (
        "id", "outcome", "phase", "reason", "error", "signature", "logs", "warnings", "effective", "checks",
        "timings", "duration_s", "peak_rss_mb", "peak_cuda_mb", "expectation", "claims", "started_at", "run_id",
        "source", "line", "axes", "device", "harness_version", "cell",
    )  # fmt: skip
    details = {key: record.get(key) for key in keep}
    scenario = record.get("scenario") or {}
    details.update(
        output_tail=tail[-OUTPUT_TAIL:],
        output_clipped=max(0, len(tail) - OUTPUT_TAIL),
        description=scenario.get("description", ""),
        links=scenario.get("links") or [],
        superseded=entry.superseded,
        run_command="\n".join(run_lines(record)),
        env_differs=_env_differs(record.get("env") or {}, cell),
    )
    return details


def _env_differs(env: dict[str, Any], cell: Cell) -> dict[str, Any]:
    """Fields where this record's environment differs from its column's (rare: a mixed cell)."""
    return {k: v for k, v in env.items() if k != "lock" and cell.env.get(k, v) != v}
