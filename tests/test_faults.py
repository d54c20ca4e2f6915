"""Interruptions, concurrent writers, repeats and a dying supervisor: no record is ever lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, harness, tagged_processes

FAULTS = FIXTURES / "faults"
# An ignored signal stays ignored across exec, which is how `cmd &` in a script leaves SIGINT.
IGNORE_SIGINT_THEN_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"
)


def start(out: Path, *args: str, tag: str, ignore_sigint: bool = False, **env: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "harness", "run", str(FAULTS / "slow.yaml"), "--out", str(out), *args]
    if ignore_sigint:  # as a non-interactive shell starts a background job: SIGINT ignored, then exec
        command = [sys.executable, "-c", IGNORE_SIGINT_THEN_EXEC, *command]
    environment = {**os.environ, "FT_HARNESS_TEST_TAG": tag, **env}
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )


def wait_for_records(out: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and len(out.read_text().splitlines()) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} records in {out} after {timeout} s")


def no_process_left(tag: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not tagged_processes(tag):
            return True
        time.sleep(0.2)
    return False


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_an_interrupted_run_keeps_every_completed_record_and_resume_finishes_it(tmp_path: Path, how: str) -> None:
    out, tag = tmp_path / "results.jsonl", uuid.uuid4().hex
    process = start(out, tag=tag)
    wait_for_records(out, 2)
    process.send_signal(getattr(signal, how))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == {"SIGKILL": -9, "SIGTERM": 143, "SIGINT": 130}[how], stderr
    if how != "SIGKILL":
        assert f"interrupted by {how}" in stderr and "--resume" in stderr and "Traceback" not in stderr
    assert no_process_left(tag), "the supervisor or a child outlived the interrupted run"
    kept = records(out)  # every line is a whole record: appended and flushed one at a time
    assert 2 <= len(kept) < 6
    resumed = harness("run", FAULTS / "slow.yaml", "--out", out, "--resume")
    assert resumed.code == 0, resumed.stdout + resumed.stderr
    assert f"resuming {out}: {len(kept)} recorded" in resumed.stdout
    final = records(out)
    assert sorted(r["id"] for r in final) == sorted(f"slow[seed={i}]" for i in range(1, 7))
    assert {r["run_id"] for r in final} == {kept[0]["run_id"]}  # a resumed run stays one run


def test_sigint_stops_a_run_that_was_started_with_sigint_ignored(tmp_path: Path) -> None:
    out, tag = tmp_path / "results.jsonl", uuid.uuid4().hex
    process = start(out, tag=tag, ignore_sigint=True)
    wait_for_records(out, 2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted by SIGINT" in stderr and "Traceback" not in stderr
    assert no_process_left(tag), "the supervisor or a child outlived the interrupted run"
    kept = records(out)
    assert 2 <= len(kept) < 6
    assert {r["id"] for r in kept} <= {f"slow[seed={i}]" for i in range(1, 7)}


def test_two_runs_appending_to_one_file_do_not_corrupt_it(tmp_path: Path) -> None:
    out = tmp_path / "shared.jsonl"
    fast = {"FT_HARNESS_SLOW_STEP_S": "0"}
    first, second = (start(out, "-j", "2", tag=uuid.uuid4().hex, **fast) for _ in range(2))
    for process in (first, second):
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stdout + stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 12
    assert len({json.loads(line)["run_id"] for line in lines}) == 2


def test_the_pool_replaces_a_supervisor_that_dies(tmp_path: Path) -> None:
    done = harness("run", FAULTS / "supervisor_death.yaml", out=tmp_path / "r.jsonl")
    assert done.code == 0, done.stdout + done.stderr
    by_id = done.by_id()
    assert by_id["supervisor-death[b-kills-supervisor]"]["outcome"] == "crashed"
    for after in ("a-before", "c-after", "d-after"):
        assert by_id[f"supervisor-death[{after}]"]["outcome"] == "passed"


def test_runs_are_deterministic_and_repeat_marks_disagreement_flaky(tmp_path: Path) -> None:
    kinds = FIXTURES / "e2e" / "kinds.yaml"
    first = harness("run", kinds, out=tmp_path / "first.jsonl").by_id()
    repeated = harness("run", kinds, "--repeat", "3", out=tmp_path / "repeated.jsonl")
    assert repeated.code == 0, repeated.stdout
    for variant, record in repeated.by_id().items():
        assert record["outcome"] == first[variant]["outcome"]
        assert record["signature"] == first[variant]["signature"]
        assert record["repeats"]["runs"] == 3 and not record["flaky"]
    env = {"FT_HARNESS_CALLS_FILE": str(tmp_path / "calls")}
    flaky = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            str(FAULTS / "flaky.yaml"),
            "--repeat",
            "3",
            "--out",
            str(tmp_path / "flaky.jsonl"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert flaky.returncode == 1
    record = records(tmp_path / "flaky.jsonl")[0]
    assert record["flaky"] is True
    assert sorted(record["repeats"]["outcomes"]) == ["failed", "passed", "passed"]
    assert any(m.startswith("flaky: 3 runs gave") for m in record["expectation"]["mismatches"])
