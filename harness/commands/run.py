"""`harness run`: scenarios through the isolated runner into result records."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path

import click

from harness import console
from harness.dsl.catalog import Variant
from harness.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNEXPECTED, InputError
from harness.execution.pool import Limits
from harness.record import Record
from harness.results import completed_ids, run_id_of
from harness.runner import Interrupted, RunOptions, RunResult, new_run_id, run
from harness.selection import select, without_checks

RUNS_DIR = Path("reports") / "runs"
# The shell's convention: 128 + the signal's number.
EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}


def execute(
    variants: list[Variant], options: RunOptions, summarize: Callable[[list[Record]], None] = console.summary
) -> RunResult:
    """Run ``variants`` through the warm pool with a progress bar, then ``summarize`` and the totals.

    `harness run` and `harness sweep` share it; an interrupted run exits here (130/143)."""
    # Installed explicitly, SIGINT included: a run started as a background job of a
    # non-interactive shell inherits SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler of its own, so Ctrl-C or `kill -INT` would be lost.
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with console.progress(len(variants)) as on_record:
            result = run(variants, options, on_record)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    summarize(result.records)
    console.totals(result.records, result.wall_s, str(options.out))
    if result.interrupted:
        console.err.print(
            f"interrupted by {result.interrupted}: {len(result.records)} of {len(variants)} variants recorded in "
            f"{options.out}; `harness run ... --out {options.out} --resume` runs the rest",
            markup=False,
        )
        sys.exit(EXIT_INTERRUPTED[result.interrupted])
    return result


def _stop(signum: int, frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


@click.command("run")
@click.argument("paths", nargs=-1)
@click.option("-k", "keyword", help="only variants matching this expression (substrings, and/or/not)")
@click.option("--id", "ids", multiple=True, help="only this exact variant id (repeatable)")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="variants at once")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="results file (JSON lines); default reports/runs/<run id>.jsonl",
)
@click.option("--resume", is_flag=True, help="append to --out, running only variants it has no record of")
@click.option("--timeout", type=click.FloatRange(min=0.1), help="seconds per variant (overrides scenarios)")
@click.option("--memory-mb", type=click.IntRange(min=64), help="memory cap per variant (overrides scenarios)")
@click.option("--isolation", type=click.Choice(["fork", "spawn"]), help="default: fork on CPU, spawn for CUDA")
@click.option("--cell", help="matrix cell name stored in each record")
@click.option(
    "--checks",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    help="off: no correctness check, probe or reference run (what the model does unobserved)",
)
@click.option(
    "--repeat",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="run each variant N times; disagreeing runs are marked flaky",
)
def run_command(
    paths: tuple[str, ...],
    keyword: str | None,
    ids: tuple[str, ...],
    jobs: int,
    device: str,
    out: Path | None,
    resume: bool,
    timeout: float | None,
    memory_mb: int | None,
    isolation: str | None,
    cell: str | None,
    checks: str,
    repeat: int,
) -> None:
    """Run scenarios (default: the catalog in ./scenarios) on the installed stack."""
    catalog, variants = select(paths, keyword, ids)
    console.report_input_errors(catalog.errors)
    if checks == "off":
        variants = without_checks(variants)
    run_id = new_run_id()
    if resume:
        if out is None:
            raise InputError("--resume needs --out FILE (the results file to complete)")
        done = completed_ids(out)
        variants = [v for v in variants if v.id not in done]
        run_id = run_id_of(out) or run_id  # the resumed run stays one run
        console.out.print(f"resuming {out}: {len(done)} recorded, {len(variants)} to run", markup=False)
    if not variants and not resume:
        raise InputError("no scenario variant to run" + (f" matches -k {keyword!r}" if keyword else ""))
    out = out or RUNS_DIR / f"{run_id}.jsonl"
    options = RunOptions(
        out=out,
        device=device,
        jobs=jobs,
        isolation=isolation,
        limits=Limits(timeout, memory_mb),
        cell=cell,
        run_id=run_id,
        repeat=repeat,
    )
    result = execute(variants, options)
    if catalog.errors:
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_UNEXPECTED if result.unexpected else EXIT_OK)
