"""Result files: JSON lines, appended and flushed one record at a time, under a file lock.

A run killed at any moment keeps every record it completed; two runs appending to the same file
interleave whole lines. Readers skip what they cannot use and say why, and never lose the rest.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from harness.record import SCHEMA, Record


class ResultWriter:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: Record) -> None:
        line = record.to_line()
        with self.path.open("a", encoding="utf-8") as handle:
            # An exclusive lock on the file itself: concurrent writers append whole lines.
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(line)
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class Loaded:
    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_results(paths: Iterable[Path]) -> Loaded:
    loaded = Loaded()
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            loaded.problems.append(f"{path}: cannot read: {exc}")
            continue
        for number, line in enumerate(lines, 1):
            if line.strip():
                _read_line(path, number, line, loaded)
    return loaded


def _read_line(path: Path, number: int, line: str, loaded: Loaded) -> None:
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        loaded.problems.append(f"{path}:{number}: not a complete JSON record (truncated write?); skipped")
        return
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema != SCHEMA:
        loaded.problems.append(f"{path}:{number}: record schema {schema!r} is not {SCHEMA!r}; skipped")
        return
    try:
        loaded.records.append(Record.model_validate(data))
    except ValidationError as exc:
        loaded.problems.append(f"{path}:{number}: invalid record: {exc.errors()[0]['msg']}; skipped")


def run_id_of(path: Path) -> str | None:
    """The run id of the records already in ``path`` (the first readable one's)."""
    records = read_results([path]).records if path.exists() else []
    return records[0].run_id if records else None


def completed_ids(path: Path) -> set[str]:
    """Ids with a record in ``path``, for --resume."""
    if not path.exists():
        return set()
    return {record.id for record in read_results([path]).records}
