"""Result files into plain record dicts, each with a content fingerprint.

Reading goes through :func:`harness.results.read_results`, which validates every record against
the record schema and skips (and names by file:line) what is not one: a truncated or undecodable
line, a record of another schema version, a record with a part of the wrong type. Those messages
become the ingestion's problems; only validated records reach the history.
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
        if _is_blank(path):
            result.problems.append(f"{path}: empty results file")
    return result


def _is_blank(path: Path) -> bool:
    try:
        return path.is_file() and not path.read_bytes().strip()
    except OSError:
        return False
