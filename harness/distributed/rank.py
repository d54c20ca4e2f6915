"""One rank of a distributed variant: join the group, run the pipeline, leave a report file.

Forked from the warm child (inline launcher on CPU), or started as
``python -m harness.distributed.rank TASK RANK_DIR DEVICE`` by ``torchrun``, ``accelerate launch``
or the coordinator itself (inline on CUDA: nccl cannot live in a forked child). Every rank writes
its phase to ``rank<N>.phase`` as it moves and its observation to ``rank<N>.json`` at the end;
files work the same whoever started the rank.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

# Set on every rank by whoever starts it; the twin-free pipeline reads nothing else.
RANK_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
# Marks every process of one variant's group (launchers may start ranks in sessions of their own).
MARK_VARIABLE = "FT_HARNESS_RANKS"


def backend_for(device: str, asked: str) -> str:
    if asked != "auto":
        return asked
    return "nccl" if device.startswith("cuda") else "gloo"


def join_group(scenario: Any, device: str) -> None:
    """Join the variant's process group, right before training (called by harness/execution/training.py).

    Not earlier: the harness builds each tiny model and saves it to reload it as a checkpoint, and
    transformers' save_pretrained writes on rank 0 only once a group exists; users' ranks all load
    one checkpoint that is already there.
    """
    import torch.distributed as dist

    if dist.is_initialized():
        return
    dist.init_process_group(
        backend_for(device, scenario.distributed.backend),
        init_method=os.environ.get("FT_HARNESS_INIT_METHOD", "env://"),
        rank=int(os.environ["RANK"]),
        world_size=int(os.environ["WORLD_SIZE"]),
        timeout=timedelta(seconds=scenario.timeout),
    )


def run_rank(task: dict[str, Any], rank_dir: Path, device: str) -> None:
    """The body of a rank: the variant's pipeline (which joins the group before training)."""
    from harness.dsl.catalog import Variant
    from harness.execution.pipeline import run_variant
    from harness.execution.supervisor import _peak_rss_mb, _reset_peak_rss

    rank = int(os.environ["RANK"])
    _reset_peak_rss()
    variant = Variant.from_json(task["variant"])
    scenario = variant.scenario
    phase_file = rank_dir / f"rank{rank}.phase"

    def on_phase(phase: str) -> None:
        with contextlib.suppress(OSError):
            phase_file.write_text(phase)

    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)))
    observation = run_variant(scenario, device, on_phase, source_dir=Path(variant.source).parent)
    observation["rank"] = rank
    observation["peak_rss_mb"] = _peak_rss_mb()
    sys.stdout.flush()
    sys.stderr.flush()
    report = rank_dir / f"rank{rank}.json"
    partial = report.with_suffix(".partial")
    partial.write_text(json.dumps(observation, default=str))
    partial.replace(report)  # whole or absent: the coordinator never reads half a report


def main(argv: list[str] | None = None) -> None:
    """Entry point of a rank started as a fresh interpreter."""
    from harness.execution.supervisor import _die_with_parent

    _die_with_parent()  # the launcher's end is this rank's end
    task_file, rank_dir, device = (argv or sys.argv[1:])[:3]
    task = json.loads(Path(task_file).read_text())
    from harness.execution.stack import import_stack

    import_stack()
    run_rank(task, Path(rank_dir), device)
    os._exit(0)  # no interpreter teardown: a peer gone from the group must not hang it


if __name__ == "__main__":
    main()
