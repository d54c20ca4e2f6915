"""Side-by-side benchmark: the same variants, four ways, measured in one run (`nox -s bench`).

(a) ft-harness: warm supervisor, a forked child per variant (isolated), -j 1 and -j 2; and, as
    users start them (start-up included), `harness run -j 2` next to `pytest -n 2` (the pytest
    plugin: a warm supervisor per xdist worker, one test item per variant)
(b) a fresh Python process per variant (a folder of repro scripts), on a subset: each costs ~10 s
(c) the same variants in one process, no isolation: the floor
(d) building one matrix cell's environment with a warm cache, with uv and with pip

Prints the measured table and the ratios against the targets; it is not a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.dsl.catalog import load_catalog  # noqa: E402
from harness.execution.pool import WorkerPool  # noqa: E402

# (d) rebuilds the stack installed here, so the warm cache holds every wheel it needs.
STACK = ("torch", "transformers", "peft", "bitsandbytes", "accelerate")
CELL_PINS = [f"{name}=={metadata.version(name).split('+', 1)[0]}" for name in STACK]


def isolated(variants: list, jobs: int) -> tuple[float, float]:
    """(seconds for all variants, startup seconds) through the real worker pool."""
    with WorkerPool("cpu", jobs) as pool:
        started = time.perf_counter()
        for _ in pool.run(variants):
            pass
        return time.perf_counter() - started, pool.startup_s


def floor(variants: list) -> float:
    """All variants in this very process after one import: no isolation at all."""
    from harness.execution.pipeline import run_variant
    from harness.execution.stack import import_stack, warm_up

    import_stack()
    warm_up()
    started = time.perf_counter()
    for variant in variants:
        run_variant(variant.scenario, "cpu", lambda phase: None)
    return time.perf_counter() - started


def fresh_processes(variants: list) -> list[float]:
    times = []
    for variant in variants:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "one_variant.py"), variant.source, variant.id],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        times.append(time.perf_counter() - started)
    return times


def harness_wall(catalog: list[str], jobs: int) -> float:
    """`harness run` as a user starts it: interpreter, catalog, supervisor start-up and all."""
    return wall([sys.executable, "-m", "harness", "run", *catalog, "-j", str(jobs), "--out", "{out}"])


def pytest_wall(catalog: list[str], workers: int) -> float:
    """The same variants as test items under pytest-xdist: workers, collection, a supervisor each."""
    return wall(
        [sys.executable, "-m", "pytest", *catalog, "-n", str(workers), "-q", "-p", "no:cacheprovider", "--ft-out={out}"]
    )


def wall(command: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        command = [part.replace("{out}", f"{tmp}/r.jsonl") for part in command]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):  # 1 (an unexpected result) still times every variant
            sys.exit(
                f"{' '.join(command[:5])} ... exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        return seconds


def environment_build(installer: str) -> float:
    """A cell's environment with a warm cache: `uv venv` + `uv pip install`, or venv + pip."""
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "env"
        started = time.perf_counter()
        if installer == "uv":
            uv = shutil.which("uv")
            quiet([uv, "venv", "-q", "-p", sys.executable, str(venv)])
            quiet([uv, "pip", "install", "-q", "-p", str(venv), *CELL_PINS])
        else:
            quiet([sys.executable, "-m", "venv", str(venv)])
            quiet([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *CELL_PINS])
        return time.perf_counter() - started


BENCH_CATALOG = (
    "scenarios/methods/methods_on_llama.yaml",
    "scenarios/methods/methods_on_4bit.yaml",
    "scenarios/methods/add_adapter.yaml",
)


def quiet(command: list[str]) -> None:
    """Run an installer step; its chatter (pip's index warnings) only when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} ... failed:\n{done.stdout}{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # the 23 variants the figures in the README were first measured on (scenarios/methods has since
    # grown to every peft method on every backend)
    parser.add_argument("--catalog", nargs="+", default=list(BENCH_CATALOG))
    parser.add_argument("--fresh", type=int, default=6, help="variants measured with a fresh process each")
    parser.add_argument("--skip-env", action="store_true", help="skip (d), the environment builds")
    args = parser.parse_args()
    os.chdir(ROOT)
    variants = load_catalog(args.catalog).variants
    n = len(variants)
    print(f"{n} variants from {' '.join(args.catalog)}; {os.cpu_count()} cores\n")

    isolated_1, startup = isolated(variants, 1)
    isolated_2, _ = isolated(variants, 2)
    floor_s = floor(variants)
    fresh = fresh_processes(variants[: args.fresh])
    harness_subset, _ = isolated(variants[: args.fresh], 1)
    # in the order harness, pytest, pytest, harness, best of each: a drifting load favours neither
    first_harness, pytest_s = harness_wall(args.catalog, 2), pytest_wall(args.catalog, 2)
    pytest_s = min(pytest_s, pytest_wall(args.catalog, 2))
    harness_cli_s = min(first_harness, harness_wall(args.catalog, 2))
    whole = len(load_catalog(["scenarios"]).variants)
    catalog_s, catalog_pytest_s = harness_wall(["scenarios"], 2), pytest_wall(["scenarios"], 2)

    per = {
        "harness -j1": isolated_1 / n,
        "harness -j2": isolated_2 / n,
        "no isolation (floor)": floor_s / n,
        f"fresh process (first {len(fresh)})": statistics.mean(fresh),
    }
    rows = [(name, f"{seconds * 1000:9.1f} ms") for name, seconds in per.items()]
    rows.append(("supervisor startup (once)", f"{startup:9.1f} s"))
    rows.append((f"harness run -j 2, wall ({n} variants)", f"{harness_cli_s:9.1f} s"))
    rows.append((f"pytest -n 2, wall ({n} variants)", f"{pytest_s:9.1f} s"))
    rows.append((f"whole catalog ({whole}), harness run -j 2, wall", f"{catalog_s:9.1f} s"))
    rows.append((f"whole catalog ({whole}), pytest -n 2, wall", f"{catalog_pytest_s:9.1f} s"))
    if not args.skip_env:
        uv_s, pip_s = environment_build("uv"), environment_build("pip")
        rows += [
            ("cell environment, uv (warm cache)", f"{uv_s:9.1f} s"),
            ("cell environment, pip (warm cache)", f"{pip_s:9.1f} s"),
        ]
    print("per variant (steady state, after the one-time import):")
    for name, value in rows:
        print(f"  {name:<38}{value}")

    ratio_floor = per["harness -j1"] / per["no isolation (floor)"]
    ratio_fresh = statistics.mean(fresh) / (harness_subset / len(fresh))
    print("\nratios (target):")
    print(f"  harness -j1 / no-isolation floor         {ratio_floor:6.2f}x   (<= 3x)")
    print(f"  fresh process / harness, same variants   {ratio_fresh:6.1f}x   (>= 50x)")
    print(f"  throughput -j2 / -j1                     {isolated_1 / isolated_2:6.2f}x   (-> {os.cpu_count()} cores)")
    print(f"  whole catalog wall per variant           {catalog_s / whole * 1000:6.0f} ms   (< 300 ms)")
    print(f"  pytest -n 2 / harness run -j 2, wall     {pytest_s / harness_cli_s:6.2f}x   ({n} variants, start-up)")
    print(f"  same, whole catalog                      {catalog_pytest_s / catalog_s:6.2f}x")
    if not args.skip_env:
        print(f"  pip / uv environment build               {pip_s / uv_s:6.1f}x")


if __name__ == "__main__":
    main()
