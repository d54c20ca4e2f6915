"""Every way a variant can die is recorded as that variant's outcome, and the run goes on."""

from __future__ import annotations

import pytest
from conftest import Completed

DEATHS = {
    "death[segfault]": ("crashed", "forward", "SIGSEGV"),
    "death[abort]": ("crashed", "backward", "SIGABRT"),
    "death[hang]": ("timed_out", "forward", "no result after 4 s"),
    "death[memory]": ("crashed", "forward", "memory cap"),
    "death[exit]": ("crashed", "backward", "exited with code 3"),
    "death[sigkill]": ("crashed", "step", "SIGKILL"),
}


def test_every_variant_is_recorded_and_the_run_exits_cleanly(deaths_run: Completed) -> None:
    assert deaths_run.code == 0, deaths_run.stdout + deaths_run.stderr
    assert sorted(deaths_run.by_id()) == sorted([*DEATHS, "death[healthy]"])
    assert "Traceback" not in deaths_run.stderr


@pytest.mark.parametrize(("variant", "expected"), sorted(DEATHS.items()))
def test_death_is_recorded_with_outcome_phase_and_reason(
    deaths_run: Completed, variant: str, expected: tuple[str, str, str]
) -> None:
    record = deaths_run.by_id()[variant]
    outcome, phase, reason = expected
    assert (record["outcome"], record["phase"]) == (outcome, phase)
    assert reason in record["reason"]
    assert record["signature"]["text"].startswith(f"{phase} | {outcome}")
    assert record["expectation"]["verdict"] == "as_expected"


def test_the_healthy_neighbour_still_passes(deaths_run: Completed) -> None:
    record = deaths_run.by_id()["death[healthy]"]
    assert record["outcome"] == "passed"
    assert record["checks"]["groups"]["text"]["nonzero_grad"] == record["checks"]["trainable_tensors"] > 0


def test_a_segfault_leaves_the_python_stack_in_the_record(deaths_run: Completed) -> None:
    tail = deaths_run.by_id()["death[segfault]"]["output_tail"]
    assert "Fatal Python error: Segmentation fault" in tail
    assert "segfault" in tail  # faulthandler names the hook function that crashed


def test_a_hang_is_killed_after_dumping_where_it_hung(deaths_run: Completed) -> None:
    record = deaths_run.by_id()["death[hang]"]
    assert "in hang" in record["output_tail"]  # faulthandler's SIGUSR1 dump before the kill
    assert 4 <= record["duration_s"] < 30


def test_spawned_children_record_crashes_too(tmp_path) -> None:
    """CUDA's process model (a fresh interpreter per variant), exercised on CPU."""
    from conftest import FIXTURES, harness

    out = tmp_path / "spawn.jsonl"
    done = harness(
        "run", FIXTURES / "isolation", "-k", "segfault or healthy or memory", "--isolation", "spawn", "-j", "2", out=out
    )
    assert done.code == 0, done.stdout + done.stderr
    records = done.by_id()
    assert records["death[healthy]"]["outcome"] == "passed"
    assert records["death[healthy]"]["env"]["isolation"] == "spawn"
    assert (records["death[segfault]"]["outcome"], records["death[segfault]"]["phase"]) == ("crashed", "forward")
    assert "SIGSEGV" in records["death[segfault]"]["reason"]
    assert records["death[memory]"]["outcome"] == "crashed"
    assert "memory cap exceeded" in records["death[memory]"]["reason"]
