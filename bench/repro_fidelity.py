"""How many recorded results do the generated standalone scripts reproduce?

Generates `harness repro` scripts for every record of the given results files that was recorded
in *this* environment's versions, runs each script here, and prints how many reproduce their
record's outcome (same outcome; same phase and error type for failures; same checks for silent).

    python bench/repro_fidelity.py reports/runs/<run>.jsonl [-j 2] [-k SUBSTRING]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from harness.report.cells import build_cells
from harness.report.records import read_files
from harness.report.repro.compare import printed_outcome, same_outcome
from harness.report.repro.export import export, recorded_outcome

STACK = ("torch", "transformers", "peft", "bitsandbytes")


def here(record: dict) -> bool:
    env = record.get("env") or {}
    return all(env.get(p) == metadata.version(p) for p in STACK)


def run_one(record: dict, folder: Path) -> tuple[dict, str | None, float]:
    cell = build_cells([record])[0]
    written = export(record, cell, folder)
    started = time.monotonic()
    if written.script is None:
        return record, None, 0.0
    done = subprocess.run(
        [sys.executable, str(written.script)], capture_output=True, text=True, timeout=600, check=False
    )
    return record, printed_outcome(done.stdout), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("-k", "--keyword", default="")
    args = parser.parse_args()
    records = [r for r in read_files(args.results).records if here(r) and args.keyword in r["id"]]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        jobs = [pool.submit(run_one, r, Path(tmp) / str(i)) for i, r in enumerate(records)]
        results = [job.result() for job in jobs]
    matched = 0
    for record, printed, _seconds in results:
        ok = same_outcome(record, printed)
        matched += ok
        if not ok:
            print(f"MISMATCH {record['id']}\n    recorded: {recorded_outcome(record)}\n    script:   {printed}")
    total = len(results)
    print(f"{matched} of {total} records reproduced by their standalone script ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
