"""The data the HTML grid's script reads: compact on purpose, so 25,000 cells stay small.

Each grid cell is one integer: outcome index (4 bits), unexpected flag (1 bit), signature index
(the rest); -1 where a variant has no record in a cell. Details (errors, logs, environment...) are
only needed when a cell is clicked, so they are kept per column, apart from the grid.
"""

from __future__ import annotations

import json
from typing import Any

from harness.report.cells import Cell
from harness.report.model import DIMENSIONS, OUTCOME_ORDER, Entry, Grid, short_label
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


def grid_payload(grid: Grid) -> dict[str, Any]:
    signatures: dict[str, int] = {"": 0}
    table: list[list[str]] = [["", "", ""]]
    dims = {name: sorted({row.dims[name] for row in grid.rows}) for name in DIMENSIONS}
    codes = []
    for row in grid.rows:
        line = []
        for cell in grid.cells:
            entry = grid.entries.get((row.index, cell.index))
            line.append(MISSING if entry is None else _code(entry, signatures, table))
        codes.append(line)
    return {
        "outcomes": list(OUTCOME_ORDER),
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
        "signatures": table,
        "grid": codes,
    }


def _code(entry: Entry, signatures: dict[str, int], table: list[list[str]]) -> int:
    signature = entry.signature
    index = 0
    if signature and entry.outcome != "passed":
        key = signature["id"]
        if key not in signatures:
            signatures[key] = len(table)
            table.append([key, signature.get("text", ""), short_label(entry.record)])
        index = signatures[key]
    outcome = OUTCOME_ORDER.index(entry.outcome) if entry.outcome in OUTCOME_ORDER else len(OUTCOME_ORDER) - 1
    return outcome | (int(entry.unexpected) << 4) | (index << 5)


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
