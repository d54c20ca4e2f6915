"""`harness report`, `harness history` and `harness repro`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from harness import console
from harness.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNEXPECTED, InputError
from harness.report.build import Outputs, build_outputs
from harness.report.html import INLINE_DETAILS_LIMIT
from harness.report.records import read_files
from harness.report.store import History, HistoryError, Run
from harness.report.views.regressions import KINDS, count_changes

DEFAULT_DB = Path("reports") / "history.sqlite"
DEFAULT_SITE = Path("reports") / "site"


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """Result files as given; a folder stands for the *.jsonl files in it (a matrix run's folder)."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
    return found


def open_history(db: Path) -> History:
    try:
        return History(db)
    except HistoryError as error:
        raise InputError(str(error)) from None


def pick_run(history: History, number: int | None) -> Run:
    if number is not None:
        try:
            return history.run(number)
        except HistoryError as error:
            raise InputError(str(error)) from None
    latest = history.latest()
    if latest is None:
        raise InputError(f"{history.path}: the history has no run yet (give result files to ingest)")
    return latest


@click.command("report")
@click.argument("results", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_SITE, show_default=True)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True)
@click.option("--label", help="a name for this run in the history (e.g. nightly-2026-11-23)")
@click.option("--run", "run_number", type=int, help="render this run of the history instead of ingesting files")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="default: OUT/junit.xml")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="default: OUT/summary.md")
@click.option("--fail-on-regression", is_flag=True, help="exit 1 when something newly fails or turns silent")
@click.option(
    "--inline-limit",
    type=click.IntRange(min=0),
    default=INLINE_DETAILS_LIMIT,
    show_default=True,
    help="bytes of cell details kept inside index.html; beyond, they go to OUT/details/",
)
def report_command(
    results: tuple[Path, ...],
    out: Path,
    db: Path,
    label: str | None,
    run_number: int | None,
    junit: Path | None,
    markdown: Path | None,
    fail_on_regression: bool,
    inline_limit: int,
) -> None:
    """Merge result files into the run history and write the HTML report, JUnit XML and summary.

    RESULTS are JSON-lines result files or folders of them. Without RESULTS, the latest run of the
    history (or --run N) is rendered again.
    """
    with open_history(db) as history:
        if results:
            if run_number is not None:
                raise InputError("give either result files to ingest or --run N to render, not both")
            run, problems = _ingest(history, expand(results), label)
        else:
            run = pick_run(history, run_number)
            problems = list(run.problems)
        reported = len(problems) if results else 0
        # Records the history holds but that do not validate (stored by an older harness) are
        # left out as the grid loads them and join the problems the page and summary show.
        history.problems[:0] = problems
        try:
            built = build_outputs(history, run, out, junit, markdown, history.problems, inline_limit)
        except OSError as error:  # (the run is in the history already: `--run N` renders it again)
            raise InputError(f"cannot write the report: {error.strerror or error}", error.filename) from None
        _warn(history.problems[reported:])
    _print_outputs(built)
    sys.exit(EXIT_UNEXPECTED if fail_on_regression and built.comparison.regressed else EXIT_OK)


def _warn(problems: list[str]) -> None:
    for problem in problems:
        console.err.print(f"[bold yellow]warning:[/] {escape(problem)}", soft_wrap=True)


def _ingest(history: History, paths: list[Path], label: str | None) -> tuple[Run, list[str]]:
    read = read_files(paths)
    _warn(read.problems)
    if not read.records:
        console.err.print("[bold red]error:[/] no readable record in " + escape(", ".join(map(str, paths))))
        sys.exit(EXIT_BAD_INPUT)
    ingested = history.ingest(read.records, read.sources, read.problems, label, validated=True)
    run = ingested.run
    if ingested.created:
        console.out.print(
            f"run #{run.number}: {len(read.records)} records read, {ingested.new_records} new, "
            f"{ingested.known_records} already in the history"
            + (f", {ingested.duplicates} duplicates merged" if ingested.duplicates else "")
        )
    else:
        console.out.print(f"nothing new: these {ingested.known_records} records are run #{run.number} already")
    return run, read.problems


def _print_outputs(built: Outputs) -> None:
    counts = built.comparison.counts()
    if built.comparison.previous_run is not None:
        changes = ", ".join(f"{counts[k]} {k}" for k in KINDS)
        style = "bold red" if built.comparison.regressed else "green"
        console.out.print(f"[{style}]since run #{built.comparison.previous_run}: {changes}[/]")
    size = built.site.size / 1e6
    details = f" + {built.site.details_dir}/" if built.site.details_dir else ""
    console.out.print(f"report: {built.site.index} ({size:.2f} MB){details}")
    console.out.print(f"junit:  {built.junit}")
    console.out.print(f"summary: {built.markdown}")


@click.command("history")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True)
@click.option("--last", type=click.IntRange(min=1), default=20, show_default=True, help="how many runs to list")
def history_command(db: Path, last: int) -> None:
    """List the runs in the history, with their changes against the run before."""
    if not db.exists():
        raise InputError(f"{db}: no history yet (`harness report RESULTS...` creates it)")
    with open_history(db) as history:
        runs = history.runs()[-last:]
        table = Table(title=f"{db}: {len(history.runs())} runs, {history.record_count()} distinct records")
        for column in ("run", "ingested", "label", "cells", "variants", "records", "outcomes", "unexpected", "changes"):
            table.add_column(column, overflow="fold")
        for run in runs:
            table.add_row(*_history_row(history, run))
    console.out.print(table)


def _history_row(history: History, run: Run) -> list[str]:
    summary = run.summary
    outcomes = ", ".join(f"{n} {o}" for o, n in summary.get("outcomes", {}).items())
    previous = history.previous(run.number)
    if previous is None:
        changes = "first run"
    else:
        counts = count_changes(history.outcomes(previous.number), history.outcomes(run.number))
        changes = ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k]) or "-"
    return [
        f"#{run.number}",
        run.created_at,
        escape(run.label or ""),
        str(len(summary.get("cells", []))),
        str(summary.get("variants", 0)),
        str(summary.get("records", 0)),
        outcomes,
        str(summary.get("unexpected", 0)),
        changes,
    ]


@click.command("repro")
@click.argument("variant")
@click.option("--cell", help="the cell (column) whose record to reproduce; optional when the variant has one")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="default: reports/repro/<variant>")
@click.option("--results", multiple=True, type=click.Path(exists=True, path_type=Path), help="read records here")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True)
@click.option("--run", "run_number", type=int, help="a run of the history (default: the latest)")
def repro_command(
    variant: str, cell: str | None, out: Path | None, results: tuple[Path, ...], db: Path, run_number: int | None
) -> None:
    """Write a standalone script (no harness import) and exact requirements reproducing one record."""
    from harness.report.repro.export import export, find_record

    records = _records_for_repro(results, db, run_number)
    record, found_cell = find_record(records, variant, cell)
    written = export(record, found_cell, out)
    console.out.print(f"recorded in {escape(found_cell.key)}: {escape(written.recorded)}", soft_wrap=True)
    console.out.print(f"script:       {written.script}")
    console.out.print(f"requirements: {written.requirements}")
    ranks = (record.get("scenario") or {}).get("distributed") or {}
    launch = "python"
    if ranks.get("strategy", "none") != "none":  # a distributed variant: one process per rank
        launch = f"torchrun --nproc_per_node {int(ranks.get('world_size') or 2)}"
    console.out.print(f"run it:       pip install -r {written.requirements} && {launch} {written.script}")


def _records_for_repro(results: tuple[Path, ...], db: Path, run_number: int | None) -> list[dict]:
    if results:
        read = read_files(expand(results))
        _warn(read.problems)
        return read.records
    if not db.exists():
        raise InputError(f"{db}: no history yet; give --results FILE or run `harness report` first")
    with open_history(db) as history:
        records = history.records(pick_run(history, run_number).number)
        _warn(history.problems)
        return records
