"""The run history: a SQLite database that is only ever appended to.

Tables: ``runs`` (one per ``harness report`` ingestion: time, label, source files, problems and a
summary), ``records`` (each distinct record once, keyed by its content fingerprint), and
``run_records`` (which records a run holds). Environments and resolved scenarios repeat in every
record of a cell or variant, so they are stored once in ``blobs`` and joined back on load;
record bodies are zlib-compressed JSON.

The database is read back as untrusted input, like results files: every record loaded is
validated against the record schema (:func:`harness.results.validate_record`) and one that is
not valid (say a run stored by an older harness that checked less) is left out and reported in
:attr:`History.problems`, so every other record still renders. Ingestion stores only records
that validated.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.report.cells import cell_key
from harness.report.records import RecordDict, canonical, fingerprint
from harness.results import describe_validation, validate_record

FORMAT = "ft-harness.history/1"
SHARED_PARTS = ("env", "scenario")

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    fingerprint TEXT PRIMARY KEY,
    variant TEXT NOT NULL,
    cell TEXT NOT NULL,
    outcome TEXT NOT NULL,
    signature TEXT,
    run_id TEXT,
    started_at TEXT,
    env_hash TEXT,
    scenario_hash TEXT,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    number INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    label TEXT,
    sources TEXT NOT NULL,
    problems TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_records (
    run INTEGER NOT NULL REFERENCES runs(number),
    fingerprint TEXT NOT NULL REFERENCES records(fingerprint),
    position INTEGER NOT NULL,
    PRIMARY KEY (run, fingerprint)
);
"""


class HistoryError(Exception):
    """The database cannot be used (another format, or no such run)."""


@dataclass
class Run:
    number: int
    created_at: str
    label: str | None
    sources: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def record_count(self) -> int:
        return int(self.summary.get("records", 0))


@dataclass
class Ingested:
    run: Run
    created: bool  # False: the records were exactly the latest run's, so no run was added
    new_records: int
    known_records: int
    duplicates: int  # records given more than once in this ingestion


class History:
    def __init__(self, path: Path):
        self.path = path
        # Records of the database left out on load: "<db>: run N: record <fingerprint> (<id>): why".
        self.problems: list[str] = []
        self._invalid: dict[str, str] = {}
        self._checked: set[str] = set()  # fingerprints validated in this process
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path))
        except (OSError, sqlite3.Error) as error:
            raise HistoryError(f"{path}: cannot open the history: {error}") from None
        try:
            self.db.executescript(SCHEMA_SQL)
            self._check_format()
        except sqlite3.Error as error:
            self.db.close()
            raise HistoryError(f"{path}: not a usable history database: {error}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------

    def ingest(
        self,
        records: list[RecordDict],
        sources: list[str],
        problems: list[str],
        label: str | None = None,
        validated: bool = False,
    ) -> Ingested:
        """Store a run. ``validated``: the records were just read through the record schema
        (``read_files``), so loading them back in this process needs no second check."""
        unique: dict[str, RecordDict] = {}
        for record in records:
            unique.setdefault(fingerprint(record), record)
        if validated:
            self._checked.update(unique)
        duplicates = len(records) - len(unique)
        with self._transaction():
            known = self._known(list(unique))
            latest = self.latest()
            if latest is not None and unique and set(unique) == self._fingerprints(latest.number):
                return Ingested(latest, False, 0, len(unique), duplicates)
            for key, record in unique.items():
                if key not in known:
                    self._insert_record(key, record)
            run = self._insert_run(list(unique), [unique[k] for k in unique], sources, problems, label)
        return Ingested(run, True, len(unique) - len(known), len(known), duplicates)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # IMMEDIATE: two reports ingesting at once serialise instead of interleaving run numbers.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _insert_record(self, key: str, record: RecordDict) -> None:
        body = dict(record)
        hashes = {}
        for part in SHARED_PARTS:
            hashes[part] = self._store_blob(body.pop(part, None) or {})
        self.db.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                record.get("id", ""),
                cell_key(record),
                record.get("outcome", ""),
                (record.get("signature") or {}).get("id"),
                record.get("run_id"),
                record.get("started_at"),
                hashes["env"],
                hashes["scenario"],
                _pack(body),
            ),
        )

    def _store_blob(self, value: dict[str, Any]) -> str:
        key = fingerprint(value)
        self.db.execute("INSERT OR IGNORE INTO blobs VALUES (?, ?)", (key, _pack(value)))
        return key

    def _insert_run(
        self, keys: list[str], records: list[RecordDict], sources: list[str], problems: list[str], label: str | None
    ) -> Run:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        summary = summarize(records)
        cursor = self.db.execute(
            "INSERT INTO runs (created_at, label, sources, problems, summary) VALUES (?, ?, ?, ?, ?)",
            (created, label, json.dumps(sources), json.dumps(problems), json.dumps(summary)),
        )
        number = int(cursor.lastrowid or 0)
        self.db.executemany(
            "INSERT INTO run_records VALUES (?, ?, ?)", [(number, key, i) for i, key in enumerate(keys)]
        )
        return Run(number, created, label, sources, problems, summary)

    # -- reading --------------------------------------------------------------------------------

    def runs(self) -> list[Run]:
        rows = self.db.execute("SELECT number, created_at, label, sources, problems, summary FROM runs ORDER BY number")
        return [_run(row) for row in rows]

    def run(self, number: int) -> Run:
        row = self.db.execute(
            "SELECT number, created_at, label, sources, problems, summary FROM runs WHERE number = ?", (number,)
        ).fetchone()
        if row is None:
            raise HistoryError(f"{self.path}: no run {number} (runs: {self._range()})")
        return _run(row)

    def latest(self) -> Run | None:
        row = self.db.execute(
            "SELECT number, created_at, label, sources, problems, summary FROM runs ORDER BY number DESC LIMIT 1"
        ).fetchone()
        return _run(row) if row else None

    def previous(self, number: int) -> Run | None:
        row = self.db.execute(
            "SELECT number, created_at, label, sources, problems, summary FROM runs WHERE number < ? "
            "ORDER BY number DESC LIMIT 1",
            (number,),
        ).fetchone()
        return _run(row) if row else None

    def records(self, number: int) -> list[RecordDict]:
        """The run's records that validate; the others are reported in :attr:`problems`."""
        rows = self.db.execute(
            "SELECT r.fingerprint, r.variant, r.body, r.env_hash, r.scenario_hash FROM run_records rr "
            "JOIN records r ON r.fingerprint = rr.fingerprint WHERE rr.run = ? ORDER BY rr.position",
            (number,),
        )
        blobs: dict[str, Any] = {}
        loaded = []
        for key, variant, body, env_hash, scenario_hash in rows:
            record = self._valid(key, variant, number, body, env_hash, scenario_hash, blobs)
            if record is not None:
                loaded.append(record)
        return loaded

    def _valid(
        self, key: str, variant: Any, number: int, body: bytes, env_hash: str, scenario_hash: str, blobs: dict[str, Any]
    ) -> RecordDict | None:
        if key not in self._invalid:
            try:
                record = _unpack(body)
                if not isinstance(record, dict):
                    raise ValueError(f"a stored {type(record).__name__}, not a record")
                record["env"] = self._blob(env_hash, blobs)
                record["scenario"] = self._blob(scenario_hash, blobs)
                if key not in self._checked:
                    # Checked, not normalised: the stored dict is what was fingerprinted.
                    validate_record(record)
                    self._checked.add(key)
                return record
            except ValidationError as error:
                self._invalid[key] = describe_validation(error)
            except (ValueError, TypeError, RecursionError, zlib.error, sqlite3.Error) as error:
                self._invalid[key] = f"unreadable ({type(error).__name__}: {str(error)[:200]})"
        problem = f"{self.path}: run {number}: record {key} ({str(variant)[:120]}) is invalid and left out: "
        problem += self._invalid[key]
        if problem not in self.problems:
            self.problems.append(problem)
        return None

    def outcomes(self, number: int) -> dict[tuple[str, str], tuple[str, str | None]]:
        """(variant, cell) -> (outcome, signature id) of a run's newest records, without loading bodies."""
        rows = self.db.execute(
            "SELECT r.variant, r.cell, r.outcome, r.signature, r.started_at FROM run_records rr "
            "JOIN records r ON r.fingerprint = rr.fingerprint WHERE rr.run = ? ORDER BY rr.position",
            (number,),
        )
        newest: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        for variant, cell, outcome, signature, started_at in rows:
            key = (variant, cell)
            if key not in newest or (started_at or "") >= newest[key][0]:
                newest[key] = (started_at or "", outcome, signature)
        return {key: (outcome, signature) for key, (_, outcome, signature) in newest.items()}

    def record_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    def _blob(self, key: str, cache: dict[str, Any]) -> Any:
        if key not in cache:
            row = self.db.execute("SELECT body FROM blobs WHERE hash = ?", (key,)).fetchone()
            cache[key] = _unpack(row[0]) if row else {}
        return cache[key]

    def _known(self, keys: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT fingerprint FROM records WHERE fingerprint IN ({marks})"
            known.update(row[0] for row in self.db.execute(query, chunk))
        return known

    def _fingerprints(self, number: int) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT fingerprint FROM run_records WHERE run = ?", (number,))}

    def _range(self) -> str:
        numbers = [run.number for run in self.runs()]
        return f"{numbers[0]}..{numbers[-1]}" if numbers else "none yet"

    def _check_format(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
        elif row[0] != FORMAT:
            raise HistoryError(f"{self.path}: history format {row[0]!r} is not {FORMAT!r}")


def summarize(records: list[RecordDict]) -> dict[str, Any]:
    outcomes = Counter(r.get("outcome", "?") for r in records)
    unexpected = sum(1 for r in records if (r.get("expectation") or {}).get("verdict") == "unexpected")
    return {
        "records": len(records),
        "cells": sorted({cell_key(r) for r in records}),
        "variants": len({r.get("id") for r in records}),
        "outcomes": dict(outcomes.most_common()),
        "unexpected": unexpected,
    }


class _Summary(BaseModel):
    model_config = ConfigDict(extra="allow")

    records: int = 0
    cells: list[str] = []
    variants: int = 0
    outcomes: dict[str, int] = {}
    unexpected: int = 0


class _RunRow(BaseModel):
    """A row of `runs`, checked like any record read back: what the listing and the page show."""

    number: int
    created_at: str
    label: str | None
    sources: list[str]
    problems: list[str]
    summary: _Summary


def _run(row: tuple[Any, ...]) -> Run:
    number, created_at, label, sources, problems, summary = row
    try:
        checked = _RunRow.model_validate(
            {
                "number": number,
                "created_at": created_at,
                "label": label,
                "sources": json.loads(sources),
                "problems": json.loads(problems),
                "summary": json.loads(summary),
            }
        )
    except (ValidationError, ValueError, TypeError, RecursionError) as error:
        # Listed with what is known, so that the other runs still show.
        why = f"this run's entry in the history is unreadable: {str(error).splitlines()[0][:200]}"
        return Run(int(number), str(created_at), None, [], [why], {})
    return Run(
        checked.number,
        checked.created_at,
        checked.label,
        checked.sources,
        checked.problems,
        checked.summary.model_dump(),
    )


def _pack(value: dict[str, Any]) -> bytes:
    return zlib.compress(canonical(value).encode(), 6)


def _unpack(body: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(body))
