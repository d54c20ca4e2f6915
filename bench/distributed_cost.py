"""What a 2-rank DDP variant costs in ft-harness next to the same variant under a fresh torchrun.

Three ways to run the same N variants (a tiny Llama, LoRA, reentrant checkpointing, DDP over gloo,
two ranks, two optimizer steps; N seeds):

  harness inline     `harness run`'s warm pool: each variant's ranks forked from the warm worker
  harness torchrun   the same pool, `distributed.launcher: torchrun`: a fresh torchrun per variant
  plain torchrun     `torchrun --nproc_per_node 2 repro.py` per variant: the script `harness repro`
                     writes for it, no harness at all (what a user's own loop costs)

The harness passes are alternated round by round in one pool (inline, torchrun, inline, ...) so
that the machine's load falls on both alike; the plain torchrun runs follow. It prints each
round, the per-variant medians and their ratios, all measured in this one run. Not a test.

    python bench/distributed_cost.py [--variants 3] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.execution.pool import WorkerPool  # noqa: E402
from harness.selection import select  # noqa: E402

SCENARIO = """\
id: ddp-cost
description: "2-rank DDP + LoRA + reentrant checkpointing, for bench/distributed_cost.py"
model: {{family: llama}}
checkpointing: {{enabled: true, use_reentrant: true, input_require_grads: true}}
distributed: {{strategy: ddp, world_size: 2, launcher: {launcher}}}
steps: {{train_steps: 2}}
vary: {{model.seed: {seeds}}}
"""


def variants(folder: Path, launcher: str, count: int) -> list:
    path = folder / f"ddp_{launcher}.yaml"
    path.write_text(SCENARIO.format(launcher=launcher, seeds=list(range(count))))
    return select((str(path),), None, ())[1]


def timed(pool: WorkerPool, batch: list) -> tuple[float, list[str]]:
    started = time.perf_counter()
    outcomes = [observation["outcome"] for _, observation in pool.run(batch)]
    return time.perf_counter() - started, outcomes


def plain_torchrun(folder: Path, script: Path, count: int) -> list[float]:
    """Seconds per variant: a fresh `torchrun --nproc_per_node 2` of the exported script each time."""
    walls = []
    for _ in range(count):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", script.name],
            cwd=script.parent,
            capture_output=True,
            text=True,
            check=False,  # its outcome is read from its OUTCOME line
        )
        walls.append(time.perf_counter() - started)
        last = [line for line in done.stdout.splitlines() if line.startswith("OUTCOME:")]
        print(f"plain torchrun  {walls[-1]:6.1f} s  {last[-1] if last else 'no OUTCOME line'}")
    return walls


def export_script(folder: Path, pool: WorkerPool, batch: list) -> Path:
    """The repro script of the first variant, from its real record."""
    from harness.runner import RunOptions, build_record

    variant, observation = next(iter(pool.run(batch[:1])))
    record = build_record(variant, observation, pool.env, RunOptions(out=folder / "r.jsonl"), "bench")
    results = folder / "records.jsonl"
    results.write_text(record.to_line())
    out = folder / "repro"
    subprocess.run(
        [sys.executable, "-m", "harness", "repro", variant.id, "--results", str(results), "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    (script,) = out.glob("repro_*.py")
    return script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=3, help="variants per pass (seeds)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ft-bench-dist-") as tmp:
        folder = Path(tmp)
        batches = {name: variants(folder, name, args.variants) for name in ("inline", "torchrun")}
        per_variant: dict[str, list[float]] = {name: [] for name in batches}
        with WorkerPool("cpu", 1) as pool:
            print(f"{args.variants} variants per pass, 2 ranks each, supervisor start-up {pool.startup_s:.1f} s")
            print(f"warm-up pass (not counted): {timed(pool, batches['inline'])[0]:.1f} s")
            for round_number in range(1, args.rounds + 1):
                for name, batch in batches.items():
                    wall, outcomes = timed(pool, batch)
                    per_variant[name].append(wall / len(batch))
                    print(f"round {round_number}  harness {name:8}  {wall:6.1f} s  {sorted(set(outcomes))}")
            script = export_script(folder, pool, batches["inline"])
        plain = plain_torchrun(folder, script, args.variants * args.rounds)
    inline = statistics.median(per_variant["inline"])
    torchrun = statistics.median(per_variant["torchrun"])
    fresh = statistics.median(plain)
    print("\nper variant (median)        seconds   vs harness inline")
    print(f"  harness inline (forked)  {inline:8.2f}   1.0x")
    print(f"  harness torchrun         {torchrun:8.2f}   {torchrun / inline:.1f}x")
    print(f"  plain torchrun script    {fresh:8.2f}   {fresh / inline:.1f}x")
    print(json.dumps({"inline_s": inline, "harness_torchrun_s": torchrun, "plain_torchrun_s": fresh}))


if __name__ == "__main__":
    main()
