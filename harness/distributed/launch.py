"""Start a distributed variant's ranks, watch them as one group, merge what they report.

Runs inside the variant's isolated child (harness/execution/supervisor.py), which leads the
variant's process group: ranks forked from it (inline launcher on CPU: the warm interpreter, no
import cost) or started by ``torchrun`` / ``accelerate launch`` / a fresh interpreter (CUDA) are
inside that group or, where a launcher gives them a session of their own, marked in their
environment and dying with their parent. Whatever ends the variant (every rank reported, a rank
failed and its peers stayed stuck in a collective, the deadline) ends every rank before the
observation is sent: no rank outlives its variant.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.distributed.rank import MARK_VARIABLE, backend_for, run_rank
from harness.signature import signature_id, signature_text

# After a rank failed, how long its peers get to finish (they may be waiting for it in a collective).
PEER_GRACE_S = 5.0
# The coordinator stops the ranks this much before the supervisor's own deadline, so that it can
# still say which rank hung where; the supervisor's kill stays the backstop.
DEADLINE_MARGIN_S = 3.0
POLL_S = 0.05


@dataclass
class Rank:
    rank: int
    pid: int | None = None  # None: started by a launcher (torchrun): not our child
    status: int | None = None  # wait status once it exited
    report: dict[str, Any] | None = None
    phase: str | None = None
    ended_by_us: str | None = None
    failed_tick: int | None = None  # the watch's tick in which its own failure was first seen


@dataclass
class Group:
    ranks: list[Rank]
    launcher: subprocess.Popen[bytes] | None = None  # torchrun / accelerate launch
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)  # spawned ranks


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_ranks(task: dict[str, Any], device: str, on_phase: Callable[[str], None]) -> dict[str, Any]:
    """The merged observation of the variant's ranks (never raises for what a rank does)."""
    from harness.dsl.catalog import Variant

    scenario = Variant.from_json(task["variant"]).scenario
    spec = scenario.distributed
    rank_dir = Path(tempfile.mkdtemp(prefix="ft-harness-ranks-"))
    marker = secrets.token_hex(8)
    started = time.monotonic()
    budget = max(1.0, task["timeout"] - min(DEADLINE_MARGIN_S, task["timeout"] * 0.1))
    on_phase("build")  # starts a spawned child's clock, as a single-process variant's first phase does
    group = Group([Rank(r) for r in range(spec.world_size)])
    try:
        if spec.launcher == "inline" and not device.startswith("cuda") and hasattr(os, "fork"):
            _fork_ranks(group, task, rank_dir, device, marker)
        else:
            _start_ranks(group, task, rank_dir, device, marker, scenario.runner)
        timed_out = _watch(group, rank_dir, started + budget, on_phase)
    finally:
        _end_all(group, marker)
        reports = {r.rank: r for r in group.ranks}
        shutil.rmtree(rank_dir, ignore_errors=True)
    observation = merge(list(reports.values()), timed_out, task["timeout"], group.launcher)
    _judge_shards(observation, list(reports.values()), scenario)
    observation["effective"].setdefault("distributed", {}).update(
        {
            "strategy": spec.strategy,
            "world_size": spec.world_size,
            "launcher": spec.launcher,
            "backend": backend_for(device, spec.backend),
        }
    )
    return observation


def _rank_environment(rank: int, world: int, rank_dir: Path, marker: str, port: int) -> dict[str, str]:
    return {
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "WORLD_SIZE": str(world),
        "LOCAL_WORLD_SIZE": str(world),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "GLOO_SOCKET_IFNAME": "lo",  # loopback only
        "FT_HARNESS_INIT_METHOD": f"file://{rank_dir / 'rendezvous'}",  # no port to race for
        MARK_VARIABLE: marker,
    }


def _fork_ranks(group: Group, task: dict[str, Any], rank_dir: Path, device: str, marker: str) -> None:
    """Ranks forked from this warm child: they stay in the variant's process group."""
    port = free_port()
    sys.stdout.flush()
    sys.stderr.flush()
    for rank in group.ranks:
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                from harness.execution.supervisor import _die_with_parent

                _die_with_parent()
                os.environ.update(_rank_environment(rank.rank, len(group.ranks), rank_dir, marker, port))
                run_rank(task, rank_dir, device)
            except BaseException:
                status = 70
                with contextlib.suppress(Exception):
                    import traceback

                    traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        rank.pid = pid


def _start_ranks(group: Group, task: dict[str, Any], rank_dir: Path, device: str, marker: str, runner: str) -> None:
    """Ranks as fresh interpreters: torchrun, accelerate launch, or one interpreter per rank (CUDA)."""
    from harness.dsl.catalog import Variant

    spec = Variant.from_json(task["variant"]).scenario.distributed
    task_file = rank_dir / "task.json"
    task_file.write_text(json.dumps({**task, "runner": runner}))
    rank_args = ["-m", "harness.distributed.rank", str(task_file), str(rank_dir), device]
    world = str(spec.world_size)
    port = free_port()
    base = {**os.environ, MARK_VARIABLE: marker, "GLOO_SOCKET_IFNAME": "lo"}
    if spec.launcher == "torchrun":
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", world]
        group.launcher = subprocess.Popen([*command, *rank_args], env=base, stdin=subprocess.DEVNULL)
    elif spec.launcher == "accelerate":
        command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_machines", "1"]
        command += ["--num_processes", world, "--main_process_port", str(port), "--mixed_precision", "no"]
        command += ["--dynamo_backend", "no", "--module"]
        group.launcher = subprocess.Popen([*command, *rank_args[1:]], env=base, stdin=subprocess.DEVNULL)
    else:  # inline on CUDA: nccl needs a fresh interpreter per rank
        for rank in group.ranks:
            environment = {**base, **_rank_environment(rank.rank, len(group.ranks), rank_dir, marker, port)}
            process = subprocess.Popen([sys.executable, *rank_args], env=environment, stdin=subprocess.DEVNULL)
            group.processes.append(process)
            rank.pid = process.pid


def _watch(group: Group, rank_dir: Path, deadline: float, on_phase: Callable[[str], None]) -> bool:
    """Until every rank is done, or peers of a failed rank stayed stuck, or the deadline; True on timeout."""
    failed_at: float | None = None
    last_phase: str | None = None
    tick = 0
    while True:
        tick += 1
        for rank in group.ranks:
            _refresh(rank, rank_dir, group)
            if rank.failed_tick is None and _failed(rank):
                rank.failed_tick = tick
        phase = group.ranks[0].phase
        if phase and phase != last_phase:
            last_phase = phase
            on_phase(phase)
        if all(_done(rank, group) for rank in group.ranks):
            return False
        now = time.monotonic()
        if failed_at is None and any(_failed(rank) for rank in group.ranks):
            failed_at = now
        if failed_at is not None and now - failed_at >= PEER_GRACE_S:
            first = _first_failing([r for r in group.ranks if _failed(r)])
            for rank in group.ranks:
                if not _done(rank, group):
                    rank.ended_by_us = f"ended {PEER_GRACE_S:g} s after rank {first} failed (waiting in a collective?)"
            return False
        if now >= deadline:
            for rank in group.ranks:
                if not _done(rank, group):
                    rank.ended_by_us = "timeout"
            _dump_stacks(group)
            return True
        time.sleep(POLL_S)


def _refresh(rank: Rank, rank_dir: Path, group: Group) -> None:
    with contextlib.suppress(OSError):
        rank.phase = (rank_dir / f"rank{rank.rank}.phase").read_text() or rank.phase
    if rank.report is None:
        with contextlib.suppress(OSError, ValueError):
            rank.report = json.loads((rank_dir / f"rank{rank.rank}.json").read_text())
    if rank.pid is not None and rank.status is None and not group.processes:
        with contextlib.suppress(ChildProcessError):
            pid, status = os.waitpid(rank.pid, os.WNOHANG)
            if pid:
                rank.status = status
    for process in group.processes:
        if process.pid == rank.pid and rank.status is None and process.poll() is not None:
            code = process.returncode
            rank.status = (-code) & 0x7F if code < 0 else code << 8


def _done(rank: Rank, group: Group) -> bool:
    if rank.report is not None or rank.status is not None:
        return True
    # under a launcher the ranks are its children: its exit means every rank is gone
    return group.launcher is not None and group.launcher.poll() is not None


def _first_failing(failed: list[Rank]) -> int:
    """The rank that failed first: seen first (its peers then fail in the collective it left); in
    the same tick a rank that died without a report before one that reported an error (a peer's
    death reaches the others as a connection error, never the other way), then the lowest rank
    (every rank raising the same error at once)."""

    def order(rank: Rank) -> tuple[int, int, int]:
        return (rank.failed_tick if rank.failed_tick is not None else 1 << 30, rank.report is not None, rank.rank)

    return min(failed, key=order).rank


def _failed(rank: Rank) -> bool:
    """The rank failed by itself: a report that is not passed, or an exit without a report."""
    if rank.report is not None:
        return rank.report.get("outcome") != "passed"
    return rank.status is not None


def _dump_stacks(group: Group) -> None:
    """faulthandler (registered on SIGUSR1 in the variant's child, inherited by forked ranks) dumps stacks."""
    for rank in group.ranks:
        if rank.pid is not None and rank.status is None:
            with contextlib.suppress(OSError):
                os.kill(rank.pid, signal.SIGUSR1)
    time.sleep(1.0)


def _end_all(group: Group, marker: str) -> None:
    """SIGKILL every rank (ours, the launcher's, any in a session of its own) and reap ours."""
    from harness.execution.pool import kill_marked

    if group.launcher is not None:
        with contextlib.suppress(OSError):
            group.launcher.kill()
    kill_marked(f"{MARK_VARIABLE}={marker}")
    for rank in group.ranks:
        if rank.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(rank.pid, signal.SIGKILL)
    for process in group.processes:
        process.wait()
    if group.launcher is not None:
        group.launcher.wait()
    for rank in group.ranks:
        if rank.pid is not None and not group.processes:
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(rank.pid, 0)
                if rank.status is None:
                    rank.status = status


# -- merging -------------------------------------------------------------------------------------


def _rank_observation(rank: Rank, timeout: float, launcher: subprocess.Popen[bytes] | None) -> dict[str, Any]:
    """What one rank did: its report, else what its end says."""
    if rank.report is not None:
        return rank.report
    if rank.ended_by_us == "timeout":
        return {"outcome": "timed_out", "phase": rank.phase, "reason": f"no result after {timeout:g} s"}
    if rank.ended_by_us:
        return {"outcome": "stopped", "phase": rank.phase, "reason": rank.ended_by_us}
    status = rank.status
    if status is not None and os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        reason = f"rank {rank.rank} killed by {signal.Signals(number).name} (signal {number})"
    elif status is not None:
        reason = f"rank {rank.rank} exited with code {os.WEXITSTATUS(status)} before reporting a result"
    else:
        code = launcher.returncode if launcher is not None else None
        reason = f"rank {rank.rank} ended without a report (launcher exit status {code})"
    return {"outcome": "crashed", "phase": rank.phase, "reason": reason}


def _signature(observation: dict[str, Any]) -> dict[str, str] | None:
    outcome = observation.get("outcome")
    if outcome == "passed":
        return None
    error = observation.get("error")
    if error and outcome == "failed":
        text = signature_text(observation.get("phase"), str(error["type"]).rsplit(".", 1)[-1], error["message"])
    else:
        text = signature_text(observation.get("phase"), str(outcome), observation.get("reason") or "")
    return {"id": signature_id(text), "text": text}


def _summary(rank: int, observation: dict[str, Any]) -> dict[str, Any]:
    error = observation.get("error") or None
    checks = observation.get("checks") or {}
    return {
        "rank": rank,
        "outcome": observation.get("outcome"),
        "phase": observation.get("phase"),
        "at": observation.get("at"),
        "reason": observation.get("reason"),
        "error": {"type": error.get("type"), "message": str(error.get("message", ""))[:500]} if error else None,
        "signature": _signature(observation),
        "checks": {name: r.get("passed") for name, r in (checks.get("results") or {}).items()},
        "checks_failed": checks.get("failed", []),
        "losses": checks.get("losses", []),
        "peak_rss_mb": observation.get("peak_rss_mb"),
    }


def _judge_shards(merged: dict[str, Any], ranks: list[Rank], scenario: Any) -> None:
    """The gradients check of a sharded strategy, over every rank's shards (harness/distributed/shards.py)."""
    from harness.distributed.shards import merged_gradients
    from harness.families import FAMILIES
    from harness.methods import METHODS

    reports = [
        (r.report.get("checks") or {})["shard_gradients"]
        for r in ranks
        if r.report is not None and "shard_gradients" in (r.report.get("checks") or {})
    ]
    mode = METHODS[scenario.peft.method].gradient_mode(scenario.checks.gradients)
    result = merged_gradients(reports, FAMILIES[scenario.model.family].group_of, mode) if reports else None
    if result is None:
        return
    checks = merged.setdefault("checks", {})
    checks.setdefault("results", {})["gradients"] = result
    if merged.get("outcome") == "passed" and not result["passed"]:
        failed = [*checks.get("failed", []), f"gradients ({result['detail']})"]
        checks["failed"] = failed
        merged.update(outcome="silent", reason="; ".join(failed))


def merge(
    ranks: list[Rank], timed_out: bool, timeout: float, launcher: subprocess.Popen[bytes] | None = None
) -> dict[str, Any]:
    """One observation for the variant: the first failing rank's (see _first_failing; a rank the
    harness ended after a peer failed does not count), else rank 0's; every rank's outcome, error,
    signature and checks under ``ranks``."""
    observed = {r.rank: _rank_observation(r, timeout, launcher) for r in ranks}
    own_failures = [r for r in ranks if r.ended_by_us is None and observed[r.rank].get("outcome") != "passed"]
    if own_failures:
        first: int | None = _first_failing(own_failures)
        merged = dict(observed[first])  # type: ignore[index]
    elif timed_out:
        first = None
        where = ", ".join(f"rank {r.rank} at {r.phase}" for r in ranks if r.ended_by_us == "timeout")
        merged = {
            "outcome": "timed_out",
            "phase": next((r.phase for r in ranks if r.ended_by_us == "timeout"), None),
            "reason": f"no result after {timeout:g} s: {where} (stacks dumped to output_tail)",
        }
    else:
        first = None
        merged = dict(observed[0])
    merged.setdefault("effective", {})
    merged.setdefault("checks", {})
    took_effect = dict(merged["effective"].get("distributed") or {})  # the wrapper, as the rank saw it
    merged["effective"] = {**merged["effective"], "distributed": {**took_effect, "first_failing_rank": first}}
    peaks = [o.get("peak_rss_mb") for o in observed.values() if isinstance(o.get("peak_rss_mb"), (int, float))]
    merged["peak_rss_mb"] = max(peaks) if peaks else None
    merged["ranks"] = [_summary(rank, observed[rank]) for rank in sorted(observed)]
    if first is not None and merged.get("outcome") in ("crashed", "timed_out", "silent"):
        reason = merged.get("reason") or ""
        if not reason.startswith(f"rank {first}"):
            merged["reason"] = f"rank {first}: {reason}"
    return merged
