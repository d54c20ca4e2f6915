"""Distributed variants: real torch.distributed over gloo, real peft, ranks forked or started by torchrun.

Each test runs the real CLI on tiny models; nothing is mocked. The expensive runs are module
fixtures shared by the tests that read them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, Completed, harness, tagged_processes

from harness.report.repro.compare import printed_outcome, same_outcome

DDP_CASE = ROOT / "scenarios" / "distributed" / "ddp_peft_reentrant_trainer.yaml"
FAULTS = FIXTURES / "distributed" / "rank_faults.yaml"


@pytest.fixture(scope="module")
def ddp_case(tmp_path_factory: pytest.TempPathFactory) -> Completed:
    return harness("run", DDP_CASE, out=tmp_path_factory.mktemp("ddp") / "results.jsonl")


def _alive(pid: int) -> bool:
    """A live process (a zombie has nothing left to run, and its parent reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _run_faults(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Completed, list[int], str]:
    tag = uuid.uuid4().hex
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("FT_TEST_PIDS", str(pids))
    monkeypatch.setenv("FT_HARNESS_TEST_TAG", tag)
    done = harness("run", FAULTS, "-k", case, out=tmp_path / "results.jsonl")
    noted = [int(pid) for file in pids.iterdir() for pid in file.read_text().split()]
    return done, noted, tag


def test_the_ddp_case_fails_where_reentrant_meets_find_unused_and_each_workaround_trains(ddp_case: Completed) -> None:
    assert ddp_case.code == 0, ddp_case.stdout[-3000:]
    records = ddp_case.by_id()
    broken = records["ddp-peft-reentrant-trainer[reentrant]"]
    assert broken["outcome"] == "failed" and broken["phase"] == "backward"
    assert "Expected to mark a variable ready only once" in broken["error"]["message"]
    # the cause, in the record: the Trainer chose find_unused_parameters=True for the PeftModel
    assert broken["effective"]["distributed"]["find_unused_parameters"] is True
    assert broken["effective"]["distributed"]["backend"] == "gloo"
    # one record, every rank in it: both ranks fail with the same signature
    assert [r["rank"] for r in broken["ranks"]] == [0, 1]
    assert {r["outcome"] for r in broken["ranks"]} == {"failed"}
    assert len({r["signature"]["id"] for r in broken["ranks"]}) == 1
    assert broken["signature"]["id"] == broken["ranks"][0]["signature"]["id"]
    fixed = records["ddp-peft-reentrant-trainer[fix-find-unused-false]"]
    assert fixed["outcome"] == "passed"
    assert fixed["effective"]["distributed"]["find_unused_parameters"] is False
    assert all(rank["checks"]["gradients"] is True for rank in fixed["ranks"])
    assert records["ddp-peft-reentrant-trainer[fix-non-reentrant]"]["outcome"] == "passed"


def test_a_hung_rank_ends_with_its_variant_and_no_process_of_the_group_remains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done, noted, tag = _run_faults("hang-inline", tmp_path, monkeypatch)
    (record,) = done.records
    assert record["outcome"] == "timed_out", record.get("reason")
    assert "rank 1 at forward" in record["reason"] and "rank 0 at backward" in record["reason"]
    assert [r["outcome"] for r in record["ranks"]] == ["timed_out", "timed_out"]
    # two ranks and the process each started in a session of its own
    assert len(noted) == 4
    assert not [pid for pid in noted if _alive(pid)]
    assert tagged_processes(tag) == []


def test_ranks_started_by_torchrun_in_sessions_of_their_own_end_with_their_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done, noted, tag = _run_faults("hang-torchrun", tmp_path, monkeypatch)
    (record,) = done.records
    assert record["outcome"] == "timed_out", record.get("reason")
    assert record["effective"]["distributed"]["launcher"] == "torchrun"
    assert len(noted) == 4
    assert not [pid for pid in noted if _alive(pid)]
    assert tagged_processes(tag) == []


def test_a_rank_killed_by_a_signal_is_the_first_failing_rank_and_its_stuck_peer_is_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done, noted, tag = _run_faults("killed-inline", tmp_path, monkeypatch)
    (record,) = done.records
    assert record["outcome"] == "crashed"
    assert record["reason"].startswith("rank 1 killed by SIGKILL")
    assert record["effective"]["distributed"]["first_failing_rank"] == 1
    by_rank = {r["rank"]: r for r in record["ranks"]}
    assert by_rank[1]["outcome"] == "crashed"
    # rank 0 lost its peer in the collective: its own error (or the harness ending it) is recorded
    assert by_rank[0]["outcome"] in ("failed", "stopped")
    assert not [pid for pid in noted if _alive(pid)]
    assert tagged_processes(tag) == []


def test_repro_of_a_distributed_record_reproduces_its_outcome_under_torchrun(
    ddp_case: Completed, tmp_path: Path
) -> None:
    results = tmp_path / "records.jsonl"
    results.write_text("".join(json.dumps(record) + "\n" for record in ddp_case.records))
    variant = "ddp-peft-reentrant-trainer[reentrant]"
    exported = harness("repro", variant, "--results", results, "--out", tmp_path / "repro")
    assert exported.code == 0, exported.stderr
    assert "torchrun --nproc_per_node 2" in exported.stdout
    (script,) = (tmp_path / "repro").glob("repro_*.py")
    assert "torchrun --nproc_per_node 2" in script.read_text()
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", script.name]
    done = subprocess.run(torchrun, cwd=script.parent, capture_output=True, text=True, timeout=600)
    printed = printed_outcome(done.stdout)
    assert same_outcome(ddp_case.by_id()[variant], printed), (printed, done.stdout[-2000:], done.stderr[-2000:])


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("{strategy: ddpp}", "unknown distributed strategy 'ddpp' (valid: ddp, deepspeed, fsdp, fsdp2, none"),
        ("{strategy: ddp, fsdp: {use_orig_params: false}}", "distributed.fsdp applies to strategy fsdp / fsdp2"),
        ("{strategy: ddp, launcher: mpirun}", "launcher"),
        ("{strategy: fsdp, world_size: 0}", "world_size"),
    ],
)
def test_a_bad_distributed_section_is_one_message_with_file_and_line(
    tmp_path: Path, section: str, expected: str
) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(f"id: bad\ndescription: d\nmodel: {{family: llama}}\ndistributed: {section}\n")
    done = harness("run", scenario, out=tmp_path / "results.jsonl")
    assert done.code == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert f"{scenario}:4" in done.stderr + done.stdout
    assert expected in done.stderr + done.stdout


def test_the_schema_and_selection_know_the_distributed_section() -> None:
    schema = json.loads(harness("schema").stdout)
    spec = schema["$defs"]["DistributedSpec"]["properties"]
    assert spec["strategy"]["enum"] == ["ddp", "deepspeed", "fsdp", "fsdp2", "none"]
    assert set(spec["launcher"]["enum"]) == {"inline", "torchrun", "accelerate"}
    listed = harness("list", "scenarios/distributed", "-k", "fsdp2", "--ids").stdout.split()
    assert listed and all("fsdp" in line for line in listed)
    assert (
        "ddp-manual-find-unused-reentrant[find-unused-torchrun]"
        in harness("list", "scenarios/distributed", "-k", "ddp and torchrun", "--ids").stdout.split()
    )


def test_gradients_under_sharding_are_merged_over_the_ranks_shards_and_can_fail(tmp_path: Path) -> None:
    # LoRA's own init (B = 0) leaves A without a gradient in the first step: the gradients check
    # must see that through FSDP's shards, where the single-process probe's hooks never fire
    scenario = tmp_path / "shards.yaml"
    scenario.write_text(
        "id: shards\ndescription: d\nmodel: {family: llama}\ndistributed: {strategy: fsdp2}\n"
        "cases:\n  library-init: {peft.init: library}\n  non-identity: {}\n"
        "  fsdp1-library-init: {peft.init: library, distributed.strategy: fsdp}\n"
    )
    done = harness("run", scenario, out=tmp_path / "results.jsonl")
    records = done.by_id()
    for variant in ("shards[library-init]", "shards[fsdp1-library-init]"):
        silent = records[variant]
        assert silent["outcome"] == "silent", silent.get("reason")
        assert "zero-grad:text (4 of 8)" in silent["reason"]
        assert "merged" not in silent["checks"]["results"]["gradients"]["detail"]
        assert silent["checks"]["results"]["gradients"]["groups"]["text"]["with_grad"] == 8
    trained = records["shards[non-identity]"]
    assert trained["outcome"] == "passed"
    assert trained["checks"]["results"]["gradients"]["passed"] is True
    assert "merged over 2 ranks' shards" in trained["checks"]["results"]["gradients"]["detail"]
