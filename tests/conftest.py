"""Shared helpers: the real `harness` CLI in a subprocess, on real tiny models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str
    records: list[dict[str, Any]]

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {record["id"]: record for record in self.records}


def harness(*args: str | Path, out: Path | None = None, cwd: Path = ROOT, timeout: float = 900) -> Completed:
    """Run the installed CLI exactly as a user does and read back its results file."""
    command = [sys.executable, "-m", "harness", *map(str, args)]
    if out is not None:
        command += ["--out", str(out)]
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    records = []
    if out is not None and out.exists():
        records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return Completed(done.returncode, done.stdout, done.stderr, records)


@pytest.fixture(scope="session")
def e2e_run(tmp_path_factory: pytest.TempPathFactory) -> Completed:
    out = tmp_path_factory.mktemp("e2e") / "results.jsonl"
    return harness("run", FIXTURES / "e2e" / "kinds.yaml", "-j", "2", out=out)


@pytest.fixture(scope="session")
def deaths_run(tmp_path_factory: pytest.TempPathFactory) -> Completed:
    out = tmp_path_factory.mktemp("deaths") / "results.jsonl"
    return harness("run", FIXTURES / "isolation", "-j", "2", out=out)
