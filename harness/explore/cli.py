"""`harness explore`: search the DSL's dimensions for failures the catalog does not cover yet."""

from __future__ import annotations

import importlib.util
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from harness import console, packages
from harness.dsl.catalog import load_catalog
from harness.errors import InputError
from harness.execution.pool import Limits, StackImportError, WorkerPool
from harness.explore import found as found_files
from harness.explore import known as known_signatures
from harness.explore.strategies import DIMENSIONS, non_default, parse_dimensions
from harness.record import Record
from harness.results import ResultWriter
from harness.runner import RunOptions, build_record, new_run_id

RESULTS_DIR = Path("reports") / "explore"
DATABASE_DIR = Path("reports") / ".hypothesis" / "explore"
FOUND_DIR = Path("scenarios") / "found"


@click.command("explore")
@click.option(
    "--budget",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="combinations to run while searching (repeats come from a cache)",
)
@click.option(
    "--shrink-budget",
    type=click.IntRange(0),
    default=40,
    show_default=True,
    help="extra runs each new signature adds, for shrinking",
)
@click.option("--seed", "seed_value", type=int, default=0, show_default=True, help="seed of the search")
@click.option(
    "--dimensions",
    "dimension_values",
    multiple=True,
    metavar="NAMES",
    help=f"comma-separated, the dimensions that vary (others stay default): {', '.join(DIMENSIONS)}; default all",
)
@click.option(
    "--known",
    "known_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="a `harness run` results file whose signatures count as known (default: run the catalog first)",
)
@click.option(
    "--catalog",
    "catalog_paths",
    multiple=True,
    default=("scenarios",),
    show_default=True,
    help="scenario files or folders whose signatures count as known (without --known)",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=FOUND_DIR,
    show_default=True,
    help="where minimal new failures are written as scenario files",
)
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS_DIR,
    show_default=True,
    help="where the records of the exploration (and of its catalog run, reusable with --known) go",
)
@click.option(
    "--database",
    type=click.Path(file_okay=False, path_type=Path),
    default=DATABASE_DIR,
    show_default=True,
    help="hypothesis example database (a rerun replays its failures first)",
)
@click.option("--no-database", is_flag=True, help="neither read nor write the example database")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="variants at once while running the catalog",
)
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, help="seconds per explored combination"
)
def explore_command(
    budget: int,
    shrink_budget: int,
    seed_value: int,
    dimension_values: tuple[str, ...],
    known_files: tuple[Path, ...],
    catalog_paths: tuple[str, ...],
    out_dir: Path,
    results_dir: Path,
    database: Path,
    no_database: bool,
    jobs: int,
    timeout: float,
) -> None:
    """Run hypothesis-drawn combinations; write each new failure, shrunk, as a scenario file.

    A failure is new when its error signature is not among those the catalog shows on this stack
    (found by running the catalog first, or read from --known results). Each new one is shrunk to
    the fewest non-default fields and written to --out-dir as found-<signature id>.yaml, which
    must then pass `harness run` like any catalog entry.
    """
    dimensions = parse_dimensions(dimension_values)  # bad names: exit 2 before anything starts
    if importlib.util.find_spec("hypothesis") is None:
        raise InputError("harness explore needs hypothesis: pip install 'ft-harness[explore]' (or hypothesis)")
    from harness.explore.search import Event, Explorer

    run_id = new_run_id()
    known = known_signatures.Known()
    catalog = None
    if known_files:
        known, problems = known_signatures.from_results(known_files)
        for problem in problems:
            console.err.print(f"[yellow]warning:[/] {escape(problem)}")
    else:
        catalog = load_catalog(catalog_paths)
        console.report_input_errors(catalog.errors)
        if not catalog.variants:
            raise InputError(f"no catalog variant to learn known signatures from in {', '.join(catalog_paths)}")
    database_dir = None if no_database else database / "-".join(dimensions)
    limits = Limits(timeout=timeout)
    started = time.monotonic()

    with ExitStack() as stack:
        pool = WorkerPool("cpu", jobs)
        try:
            pool.start()
        except StackImportError as error:
            raise InputError(f"the stack does not import, nothing to explore: {error}") from None
        stack.callback(pool.close)
        console.out.print(f"warm pool ready in {pool.startup_s:.1f} s ({_versions(pool.env)})")
        if catalog is not None:
            catalog_results = results_dir / f"{run_id}-catalog.jsonl"
            known = _catalog_signatures(pool, catalog.variants, catalog_results, run_id, limits)
        console.out.print(
            f"known: {len(known.ids)} signatures ({len(known.kinds)} kinds); "
            f"exploring {', '.join(dimensions)} (budget {budget})"
        )

        with _progress(budget) as advance:

            def on_event(event: Event) -> None:
                if event.kind == "run":
                    advance()
                elif event.kind == "new" and event.record is not None and event.record.signature is not None:
                    console.out.print(
                        f"[red]new[/] {event.record.signature.id} at example {event.example} "
                        f"(round {event.round}): {escape(event.record.signature.text)}"
                    )

            explorer = Explorer(
                pool,
                known,
                budget=budget,
                shrink_budget=shrink_budget,
                seed=seed_value,
                dimensions=dimensions,
                database=database_dir,
                limits=limits,
                results=results_dir / f"{run_id}.jsonl",
                run_id=run_id,
                on_event=on_event,
            )
            findings = explorer.run()
        for finding in findings:
            _write_and_verify(finding, explorer, out_dir, pool.env, seed_value, timeout)

    _summary(explorer, findings, known, time.monotonic() - started, results_dir / f"{run_id}.jsonl")


def _versions(env: dict[str, Any]) -> str:
    return ", ".join(f"{name} {env[name]}" for name in packages.bounded() if env.get(name))


def _catalog_signatures(
    pool: WorkerPool, variants: list[Any], path: Path, run_id: str, limits: Limits
) -> known_signatures.Known:
    """Run the catalog through the exploration's own pool; its records go to a --known-ready file."""
    writer = ResultWriter(path)
    options = RunOptions(out=path, device=pool.device)
    started = time.monotonic()
    records: list[Record] = []
    with _progress(len(variants), "catalog") as advance:
        for variant, observation in pool.run(variants, limits):
            record = build_record(variant, observation, pool.env, options, run_id)
            writer.write(record)
            records.append(record)
            advance()
    signatures = known_signatures.signatures(records)
    console.out.print(
        f"catalog: {len(records)} variants, {len(signatures.ids)} signatures in {time.monotonic() - started:.1f} s "
        f"(reuse with --known {path})"
    )
    return signatures


def _write_and_verify(
    finding: found_files.Finding, explorer: Any, out_dir: Path, env: dict[str, Any], seed: int, timeout: float
) -> None:
    """Write the file, then load and run it as the catalog would; remove it if it does not hold."""
    path = found_files.write(finding, out_dir, env, seed, timeout)
    if path is None:
        finding.status = "exists"
        return
    catalog = load_catalog([path])
    if catalog.errors or not catalog.variants:
        path.unlink()
        finding.status = "does not load: " + "; ".join(e.format() for e in catalog.errors)
        return
    records = [explorer.run_variant(variant) for variant in catalog.variants]
    unexpected = [m for record in records if not record.as_expected for m in record.expectation.mismatches]
    if unexpected:
        path.unlink()
        finding.status = "not reproducible: " + "; ".join(unexpected)
        return
    finding.status = "written"


def _summary(
    explorer: Any, findings: list[found_files.Finding], known: known_signatures.Known, wall_s: float, results: Path
) -> None:
    stats = explorer.stats
    console.out.print(
        f"explored {stats.examples} examples in {stats.rounds} round(s), {stats.wall_s:.1f} s: "
        f"{stats.generated} generated while searching, {stats.shrinking} while shrinking; "
        f"{stats.runs} distinct combinations run (the rest from the cache), "
        f"{stats.invalid + stats.over_budget} draws rejected (invalid or over budget)"
    )
    console.out.print(f"outcomes of the runs: {', '.join(f'{k} {v}' for k, v in sorted(stats.outcomes.items()))}")
    console.out.print(f"new failures: {len(findings)} (known before: {len(known.ids)} signatures)")
    for finding in findings:
        style = {"written": "green", "exists": "dim"}.get(finding.status, "red")
        console.out.print(
            f"  [{style}]{escape(finding.status)}[/] {finding.path}: first seen at example {finding.example} "
            f"(round {finding.round}); {len(non_default(finding.fields))} non-default field(s), "
            f"{found_files.shrinking(finding)}"
        )
        console.out.print(f"      {escape(found_files.describe(finding.fields, finding.record))}")
    for fields, record in explorer.harness_errors.values():
        console.out.print(
            f"  [bold red]harness error[/] (not written, the harness's own code failed): "
            f"{escape(found_files.observed(record))} - for {escape(str(non_default(fields)))}"
        )
    written = sum(1 for f in findings if f.status == "written")
    console.out.print(f"files written: {written} | {wall_s:.1f} s in all | records: {results}")


@contextmanager
def _progress(total: int, label: str = "exploring") -> Any:
    """A transient bar on a terminal; nothing in logs (new signatures are printed as lines)."""
    if not console.out.is_terminal:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console.out, transient=True) as bar:
        task = bar.add_task("", total=total)
        yield lambda: bar.update(task, advance=1)
