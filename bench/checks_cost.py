"""What the correctness checks cost: the whole catalog with every check on and with all off.

Both configurations run through the same warm worker pool, alternated round by round (off, on,
off, on, ...) so that the machine's load falls on both alike; the script prints each round, the
medians and their ratio. "Off" is `harness run --checks off`: no gradient probe, no quantized-layer
capture, no checkpointing-off twin, no intent check. It is not a pass/fail test.

    python bench/checks_cost.py [--rounds 3] [-j 2] [PATHS...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.execution.pool import WorkerPool  # noqa: E402
from harness.selection import select, without_checks  # noqa: E402


def timed(pool: WorkerPool, variants: list) -> tuple[float, int]:
    """(wall seconds, silent outcomes) for one pass over the variants."""
    started = time.perf_counter()
    silent = sum(observation["outcome"] == "silent" for _, observation in pool.run(variants))
    return time.perf_counter() - started, silent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "scenarios")])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    _, variants = select(tuple(args.paths), None, ())
    configurations = {"off": without_checks(variants), "on": variants}
    walls: dict[str, list[float]] = {"off": [], "on": []}
    with WorkerPool("cpu", args.jobs) as pool:
        print(f"{len(variants)} variants, -j {args.jobs}, supervisor start-up {pool.startup_s:.1f} s")
        # the first pass pays what later ones reuse (lazy imports in the supervisor, the page cache)
        print(f"warm-up pass (not counted): {timed(pool, variants)[0]:.1f} s")
        for round_number in range(1, args.rounds + 1):
            for name, batch in configurations.items():
                wall, silent = timed(pool, batch)
                walls[name].append(wall)
                print(f"round {round_number}  checks {name:3}  {wall:6.1f} s  ({silent} silent)")
    off, on = statistics.median(walls["off"]), statistics.median(walls["on"])
    print(f"\nmedian wall: checks off {off:.1f} s, checks on {on:.1f} s")
    print(f"cost of the checks: {on / off:.2f}x the unobserved catalog (+{on - off:.1f} s)")
    print(f"whole catalog with checks on, -j {args.jobs}: {on:.1f} s (target < 60 s)")


if __name__ == "__main__":
    main()
