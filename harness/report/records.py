"""Result files into plain record dicts, each with a content fingerprint.

Reading goes through :func:`harness.results.read_results`, which skips truncated lines and
records of another schema version and says so; those messages become the ingestion's problems.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.results import read_results

RecordDict = dict[str, Any]


@dataclass
class ReadResults:
    records: list[RecordDict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def canonical(record: RecordDict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(record: RecordDict) -> str:
    """Identity of a record: the same line read twice (or from two copies of a file) is one record."""
    return hashlib.sha256(canonical(record).encode()).hexdigest()[:32]


def read_files(paths: Iterable[Path]) -> ReadResults:
    paths = list(paths)
    loaded = read_results(paths)
    result = ReadResults(problems=list(loaded.problems), sources=[str(p) for p in paths])
    # Normalised through the model so that two writers' field orders or omitted defaults agree.
    result.records = [r.model_dump(mode="json", by_alias=True) for r in loaded.records]
    for path in paths:
        if path.exists() and not any(line.strip() for line in _lines(path)):
            result.problems.append(f"{path}: empty results file")
    return result


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
