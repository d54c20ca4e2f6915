"""`harness repro`: pick one record, write its standalone script and its cell's exact pins."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InputError, did_you_mean
from harness.report.cells import UNBUILT, Cell, build_cells, cell_key
from harness.report.repro.command import pins_of
from harness.report.repro.inline import ReproError, one_line
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
    """Write the script and requirements; everything is built (and checked) before anything is
    written, and a failed write removes what it began: a failed repro leaves nothing behind."""
    out = out or DEFAULT_DIR / slug(record["id"])
    script_name = f"repro_{slug(record['id'])}.py"
    recorded = recorded_outcome(record)
    files = {"requirements.txt": requirements_text(record, cell, script_name)}
    if record.get("outcome") not in UNBUILT or record.get("outcome") == "import_error":
        try:
            files[script_name] = render_script(record, script_name, versions_text(cell), recorded)
        except ReproError as error:
            raise InputError(str(error)) from None
    # (An unbuilt cell ran no scenario: installing the pins is the reproduction.)
    _write_files(out, files, executable=script_name)
    script = out / script_name if script_name in files else None
    return Written(script, out / "requirements.txt", recorded)


def _write_files(out: Path, files: dict[str, str], executable: str) -> None:
    created = [p for p in (out, *out.parents) if not p.exists()]
    staging: Path | None = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".repro-", dir=out))
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
            if name == executable:
                (staging / name).chmod(0o755)
        for name in files:
            (staging / name).replace(out / name)
    except (OSError, UnicodeError) as error:
        for folder in created:  # innermost first: only what this call created, and only if empty
            shutil.rmtree(folder, ignore_errors=True) if folder == out else _rmdir(folder)
        raise InputError(f"cannot write the repro: {getattr(error, 'strerror', None) or error}", out) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _rmdir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


def versions_text(cell: Cell) -> str:
    return ", ".join(f"{name} {version}" for name, version in cell.header)


def requirements_text(record: dict[str, Any], cell: Cell, script_name: str) -> str:
    """The cell's pins, one `name==version` line each, built from validated names and versions;
    the record's own text appears only in comments, one printable line each."""
    pins = pins_of(cell)
    if pins.rejected:
        raise InputError(
            f"{record['id']}: the lock of cell {one_line(cell.key)[:120]} holds entries that are not a distribution "
            f"name and version, so no requirements file is written: {', '.join(pins.rejected[:5])}"
        )
    lines = [
        f"# The exact environment of cell {cell.key}, where ft-harness {record.get('harness_version', '')}",
        f"# recorded {record['id']}: {recorded_outcome(record)[:200]}",
        f"# Install into a fresh virtualenv, then run {script_name}.",
    ]
    torch = next((line.split("==", 1)[1] for line in pins.lines if line.startswith("torch==")), "")
    if "+" in torch:
        lines.append(f"# torch {torch} is a local build: configure its wheel index (PIP_EXTRA_INDEX_URL) first.")
    if not cell.lock:
        lines.append("# (the cell was never built, so only the versions it asked for are known)")
    comments = ["# " + one_line(line.removeprefix("# ")) for line in lines]
    return "\n".join([*comments, *pins.lines]) + "\n"
