"""`harness list`, `show` and `schema`: reading the catalog without running it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import yaml
from rich.markup import escape

from harness import console
from harness.dsl.catalog import Variant
from harness.dsl.conditions import Context
from harness.errors import EXIT_BAD_INPUT, EXIT_OK, InputError
from harness.results import read_results
from harness.selection import select
from harness.verdict import applicable


@click.command("list")
@click.argument("paths", nargs=-1)
@click.option("-k", "keyword", help="only variants matching this expression")
@click.option("--ids", is_flag=True, help="print the ids only, one per line")
def list_command(paths: tuple[str, ...], keyword: str | None, ids: bool) -> None:
    """List scenario variants with what they expect on the installed stack."""
    catalog, variants = select(paths, keyword)
    console.report_input_errors(catalog.errors)
    if ids:
        for variant in variants:
            click.echo(variant.id)
    else:
        _print_table(variants)
    sys.exit(EXIT_BAD_INPUT if catalog.errors else EXIT_OK)


def _expected_here(variant: Variant) -> str:
    context = Context(versions={}, device="cpu", axes=variant.axes)
    entry = applicable(variant.scenario, context)
    detail = f" {entry.error}" if entry.error else ""
    return f"{entry.outcome}{detail}" + (f" @{entry.phase}" if entry.phase else "")


def _print_table(variants: list[Variant]) -> None:
    from rich.table import Table

    table = Table(title=f"{len(variants)} variants", title_justify="left")
    for column in ("id", "expects (here)", "source", "description"):
        table.add_column(column, overflow="fold")
    for variant in variants:
        table.add_row(
            escape(variant.id),
            escape(_expected_here(variant)),
            f"{variant.source}:{variant.line}",
            escape(variant.scenario.description),
        )
    console.out.print(table)


@click.command("show")
@click.argument("variant_id")
@click.argument("paths", nargs=-1)
@click.option(
    "--results",
    "results_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="results files to look in (default: every file under reports/)",
)
def show_command(variant_id: str, paths: tuple[str, ...], results_paths: tuple[Path, ...]) -> None:
    """Show a variant: its resolved scenario and its latest recorded result."""
    catalog, _ = select(paths, None)
    variant = catalog.by_id().get(variant_id)
    if variant is None:
        ids = sorted(catalog.by_id())
        close = [i for i in ids if variant_id.split("[", maxsplit=1)[0] in i][:10]
        raise InputError(
            f"no variant '{variant_id}'"
            + (f" (similar: {', '.join(close)})" if close else " (see `harness list --ids`)")
        )
    console.out.print(_printable(f"{variant.id}  {variant.source}:{variant.line}"), markup=False)
    console.out.print(_printable(variant.scenario.description), markup=False)
    console.out.print(
        _printable(yaml.safe_dump(variant.scenario.model_dump(mode="json", exclude_defaults=True), sort_keys=False)),
        markup=False,
    )
    files = list(results_paths) or sorted((p for p in Path("reports").rglob("*.jsonl") if p.is_file()), key=_mtime)
    loaded = read_results(files)
    # Results files are untrusted input: what cannot be read is skipped and said, never a traceback.
    for problem in loaded.problems:
        console.err.print(f"[bold yellow]warning:[/] {escape(problem)}", soft_wrap=True)
    records = [r for r in loaded.records if r.id == variant_id]
    if not records:
        console.out.print("no recorded result (run `harness run -k ...`)")
        return
    latest = records[-1]
    console.out.print(_printable(f"latest result (run {latest.run_id}):"), markup=False)
    data = latest.model_dump(mode="json", by_alias=True, exclude={"scenario"})
    shown = json.dumps(data, indent=2, ensure_ascii=False)
    console.out.print(_printable(shown), markup=False)


def _printable(text: str) -> str:
    """Text any terminal can take: a lone surrogate (from a hostile record) written as its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@click.command("schema")
@click.option("--record", is_flag=True, help="the result record's schema instead of the scenario file's")
def schema_command(record: bool) -> None:
    """Print the JSON Schema of scenario files (for editors) or of result records."""
    if record:
        from harness.record import Record

        schema = Record.model_json_schema(by_alias=True)
    else:
        from harness.dsl.schema import scenario_file_json_schema

        schema = scenario_file_json_schema()
    click.echo(json.dumps(schema, indent=2))
