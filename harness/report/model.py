"""A run's records as a grid: rows (variants), cells (columns) and one entry per pair."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from harness import outcomes
from harness.report.cells import UNBUILT, Cell, build_cells, cell_key
from harness.report.records import RecordDict

OUTCOME_ORDER = outcomes.REPORT_ORDER
DIMENSIONS = ("theme", "family", "method", "quantization", "checkpointing")


@dataclass
class Row:
    index: int
    id: str
    scenario_id: str
    source: str
    line: int
    description: str
    tags: list[str]
    links: list[str]
    dims: dict[str, str]


@dataclass
class Entry:
    record: RecordDict
    row: int
    cell: int
    superseded: int = 0

    @property
    def outcome(self) -> str:
        return str(self.record.get("outcome"))

    @property
    def unexpected(self) -> bool:
        return (self.record.get("expectation") or {}).get("verdict") == "unexpected"

    @property
    def signature(self) -> dict[str, str] | None:
        return self.record.get("signature")


@dataclass
class Grid:
    cells: list[Cell]
    rows: list[Row]
    entries: dict[tuple[int, int], Entry] = field(default_factory=dict)

    def row_entries(self, row: int) -> list[Entry]:
        return [e for c in range(len(self.cells)) if (e := self.entries.get((row, c))) is not None]

    def by_key(self) -> dict[tuple[str, str], Entry]:
        """(variant id, cell key) -> entry: how two runs are compared."""
        return {(self.rows[r].id, self.cells[c].key): e for (r, c), e in self.entries.items()}


def build_grid(records: list[RecordDict]) -> Grid:
    cells = build_cells(records)
    cell_index = {cell.key: cell.index for cell in cells}
    chosen: dict[tuple[str, int], list[RecordDict]] = {}
    for record in records:
        chosen.setdefault((record["id"], cell_index[cell_key(record)]), []).append(record)
    newest = {key: max(group, key=lambda r: r.get("started_at") or "") for key, group in chosen.items()}
    rows = _rows(list(newest.values()))
    row_index = {row.id: row.index for row in rows}
    grid = Grid(cells=cells, rows=rows)
    for (variant, cell), record in newest.items():
        row = row_index[variant]
        grid.entries[(row, cell)] = Entry(record, row, cell, superseded=len(chosen[(variant, cell)]) - 1)
    return grid


def _rows(records: list[RecordDict]) -> list[Row]:
    # The newest record of a variant describes its row (the catalog may have changed since).
    latest: dict[str, RecordDict] = {}
    for record in sorted(records, key=lambda r: r.get("started_at") or ""):
        if record["id"] not in latest or record.get("outcome") not in UNBUILT:
            latest[record["id"]] = record
    ordered = sorted(latest.values(), key=lambda r: (theme(r.get("source", "")), r.get("source", ""), r["id"]))
    return [_row(i, record) for i, record in enumerate(ordered)]


def _row(index: int, record: RecordDict) -> Row:
    scenario = record.get("scenario") or {}
    return Row(
        index=index,
        id=record["id"],
        scenario_id=record.get("scenario_id", record["id"]),
        source=record.get("source", ""),
        line=int(record.get("line") or 1),
        description=scenario.get("description", ""),
        tags=list(scenario.get("tags") or []),
        links=list(scenario.get("links") or []),
        dims=dimensions(record),
    )


def dimensions(record: RecordDict) -> dict[str, str]:
    scenario = record.get("scenario") or {}
    checkpointing = scenario.get("checkpointing") or {}
    return {
        "theme": theme(record.get("source", "")),
        "family": (scenario.get("model") or {}).get("family", "?"),
        "method": (scenario.get("peft") or {}).get("method", "?"),
        "quantization": (scenario.get("quantization") or {}).get("backend", "?"),
        "checkpointing": checkpointing.get("via", "?") if checkpointing.get("enabled") else "off",
    }


def theme(source: str) -> str:
    """The catalog folder a scenario lives in (scenarios/<theme>/...), else its parent folder."""
    parts = PurePosixPath(source.replace("\\", "/")).parts
    if "scenarios" in parts[:-1]:
        after = parts[parts.index("scenarios") + 1 : -1]
        return after[0] if after else "(top level)"
    return parts[-2] if len(parts) > 1 else "(top level)"


def short_label(record: RecordDict) -> str:
    """A few characters saying what happened: the error type, the failed check, the reason."""
    outcome = record.get("outcome")
    if outcome == "passed":
        return "ok"
    error = record.get("error") or {}
    if outcome == "failed" and error.get("type"):
        return str(error["type"]).rsplit(".", 1)[-1]
    if outcome == "silent":
        failed = (record.get("checks") or {}).get("failed") or [record.get("reason") or "silent"]
        return str(failed[0]).split(" (", 1)[0]
    if outcome == "import_error" and error.get("type"):
        return "import: " + str(error["type"]).rsplit(".", 1)[-1]
    if outcome == "crashed":
        return _crash_label(record.get("reason") or "")
    return outcomes.label(str(outcome))


# What a cell says in a few words, from the raw message (versions kept: signatures strip them).
_GIST_PATTERNS = (
    (re.compile(r"unexpected keyword argument '([^']+)'"), "unexpected kwarg {0}"),
    (re.compile(r"multiple values for keyword argument '([^']+)'"), "kwarg {0} twice"),
    (re.compile(r"(>=|<=|==|~=|>|<)\s*v?(\d+(?:\.\d+)+\S*)"), "needs {0} {1}"),
    (re.compile(r"cannot import name '([^']+)'"), "no import {0}"),
    (re.compile(r"has no attribute '([^']+)'"), "no attr {0}"),
    (re.compile(r"does not require grad"), "no grad_fn"),
    (re.compile(r"backward through the graph a second time"), "backward twice"),
    (re.compile(r"not have been used in the graph"), "unused in graph"),
    (
        re.compile(r"shapes? cannot be multiplied|must match the size|invalid for input of size|not match the shape"),
        "shape mismatch",
    ),
    (re.compile(r"only Tensors of floating point"), "non-float requires grad"),
    (re.compile(r"dtype|c10::|type \(|scalar type"), "dtype mismatch"),
    (re.compile(r"Attempting to unscale FP16"), "unscale fp16 grads"),
    (re.compile(r"purely quantized"), "purely quantized"),
    (re.compile(r"not found in the base model"), "targets not found"),
    (re.compile(r"not supported|does not work with|not compatible"), "not supported"),
)
MAX_GIST = 40


def gist(record: RecordDict) -> str:
    """Why, in a few words: the error's telling part (a version it asks for kept), the silent
    checks by name, the signal of a crash; the grid cells and the legend show it."""
    outcome = record.get("outcome")
    if outcome == "silent":
        failed = (record.get("checks") or {}).get("failed") or [record.get("reason") or "silent"]
        return " + ".join(_check_name(str(check)) for check in failed)
    error = record.get("error") or {}
    message = " ".join(str(error.get("message") or "").split())
    if outcome in ("failed", "import_error") and message:
        for pattern, label in _GIST_PATTERNS:
            if found := pattern.search(message):
                return label.format(*found.groups())[:MAX_GIST]
        words = message.split(" ")
        if len(message) < 12:
            return f"{short_label(record)}: {message}"
        return " ".join(words[:5])[:MAX_GIST] + ("\u2026" if len(words) > 5 else "")
    return short_label(record)


_COUNTS = re.compile(r"\s*\((?:<n>|\d)[^()]*\)")  # "(8 tensors)", "(2 of 4)"
_GROUP_AND_CHECK = re.compile(r"^[\w-]+ \(([\w:.-]+)\)$")  # "finite (nonfinite-grad)": a check within a group


def _check_name(check: str) -> str:
    """A failed check by its most telling name: "finite (nonfinite-grad (8 tensors))" is
    nonfinite-grad, "no-grad:vision (2 of 4)" is no-grad:vision, "checkpoint-impl (non-reentrant
    ..., reentrant ran)" is checkpoint-impl."""
    text = _COUNTS.sub("", check).strip()
    inner = _GROUP_AND_CHECK.match(text)
    return inner.group(1) if inner else text.split(" (", 1)[0]


# Parts of a resolved scenario that do not change what runs: editing them is no behaviour change.
DESCRIPTIVE = frozenset({"id", "description", "tags", "links", "expect", "claim", "claims"})


def scenario_fingerprint(record: RecordDict) -> str:
    """The resolved scenario's behaviour-defining part, hashed: two records that differ here ran
    different definitions (an edited scenario), whatever the stack did."""
    scenario = record.get("scenario") or {}
    defining = {k: v for k, v in scenario.items() if k not in DESCRIPTIVE} if isinstance(scenario, dict) else {}
    text = json.dumps(defining, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _crash_label(reason: str) -> str:
    for marker in ("SIGSEGV", "SIGABRT", "SIGKILL", "SIGBUS", "memory"):
        if marker in reason:
            return marker
    return "crashed"


def outcome_rank(outcome: str) -> int:
    return outcomes.rank(outcome)
