"""`harness repro`: pick one record, write its standalone script and its cell's exact pins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InputError, did_you_mean
from harness.report.cells import UNBUILT, Cell, build_cells, cell_key
from harness.report.repro.command import ordered_pins
from harness.report.repro.inline import ReproError
from harness.report.repro.script import render_script

DEFAULT_DIR = Path("reports") / "repro"


@dataclass
class Written:
    script: Path | None
    requirements: Path
    recorded: str


def recorded_outcome(record: dict[str, Any]) -> str:
    """What happened, in the words the generated script prints after `OUTCOME:`."""
    outcome = record.get("outcome", "?")
    error = record.get("error") or {}
    if outcome == "failed" and error:
        lines = str(error.get("message", "")).strip().splitlines()
        kind = str(error.get("type", "")).rsplit(".", 1)[-1]
        return f"failed at {record.get('phase')}: {kind}: {lines[0] if lines else ''}"
    if outcome == "passed":
        return "passed"
    return f"{outcome}: {record.get('reason') or ''}".rstrip(": ")


def find_record(records: list[dict[str, Any]], variant: str, cell: str | None) -> tuple[dict[str, Any], Cell]:
    matching = [r for r in records if r.get("id") == variant]
    if not matching:
        suggestion = did_you_mean(variant, {r["id"] for r in records})
        hint = f"; did you mean '{suggestion}'?" if suggestion else f" among {len(records)} records"
        raise InputError(f"no record of variant '{variant}'{hint}")
    cells = {c.key: c for c in build_cells(matching)}
    key = _cell_key(cell, list(cells)) if cell else None
    if key is None:
        if len(cells) > 1:
            raise InputError(
                f"'{variant}' was recorded in {len(cells)} cells; pick one with --cell: {', '.join(cells)}"
            )
        key = next(iter(cells))
    newest = max((r for r in matching if cell_key(r) == key), key=lambda r: r.get("started_at") or "")
    return newest, cells[key]


def _cell_key(wanted: str, keys: list[str]) -> str:
    if wanted in keys:
        return wanted
    partial = [k for k in keys if wanted in k]
    if len(partial) == 1:
        return partial[0]
    raise InputError(f"no single cell matches '{wanted}' (recorded in: {', '.join(keys)})")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")[:80] or "variant"


def export(record: dict[str, Any], cell: Cell, out: Path | None = None) -> Written:
    out = out or DEFAULT_DIR / slug(record["id"])
    out.mkdir(parents=True, exist_ok=True)
    script_name = f"repro_{slug(record['id'])}.py"
    recorded = recorded_outcome(record)
    requirements = out / "requirements.txt"
    requirements.write_text(requirements_text(record, cell, script_name), encoding="utf-8")
    if record.get("outcome") in UNBUILT and record.get("outcome") != "import_error":
        # No scenario ran: installing the pins is the reproduction.
        return Written(None, requirements, recorded)
    try:
        text = render_script(record, script_name, versions_text(cell), recorded)
    except ReproError as error:
        raise InputError(str(error)) from None
    script = out / script_name
    script.write_text(text, encoding="utf-8")
    script.chmod(0o755)
    return Written(script, requirements, recorded)


def versions_text(cell: Cell) -> str:
    return ", ".join(f"{name} {version}" for name, version in cell.header)


def requirements_text(record: dict[str, Any], cell: Cell, script_name: str) -> str:
    lines = [
        f"# The exact environment of cell {cell.key}, where ft-harness {record.get('harness_version', '')}",
        f"# recorded {record['id']}: {recorded_outcome(record)[:200]}",
        f"# Install into a fresh virtualenv, then run {script_name}.",
    ]
    torch = cell.pins().get("torch", "")
    if "+" in torch:
        lines.append(f"# torch {torch} is a local build: configure its wheel index (PIP_EXTRA_INDEX_URL) first.")
    if not cell.lock:
        lines.append("# (the cell was never built, so only the versions it asked for are known)")
    return "\n".join([*lines, *ordered_pins(cell)]) + "\n"
