"""The `harness` command line.

Exit codes: 0 every result matched its expectation, 1 some did not, 2 bad input (reported as
file:line with the valid choices; the valid scenarios still run and their results are kept).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import yaml

from harness import __version__, console
from harness.dsl.catalog import Catalog, Variant, load_catalog
from harness.dsl.conditions import current_context, holds
from harness.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNEXPECTED, InputError
from harness.execution.pool import Limits
from harness.results import completed_ids, read_results
from harness.runner import RunOptions, new_run_id, run
from harness.selection import compile_expression

DEFAULT_SCENARIOS = "scenarios"
RUNS_DIR = Path("reports") / "runs"


def searchable(variant: Variant) -> str:
    scenario = variant.scenario
    words = [
        variant.id,
        variant.source,
        scenario.model.family,
        scenario.peft.method,
        scenario.quantization.backend,
        *scenario.tags,
    ]
    if scenario.checkpointing.enabled:
        words.append(scenario.checkpointing.via)
    return " ".join(words).lower()


def select(paths: tuple[str, ...], keyword: str | None) -> tuple[Catalog, list[Variant]]:
    catalog = load_catalog(paths or (DEFAULT_SCENARIOS,))
    matcher = compile_expression(keyword or "")
    return catalog, [v for v in catalog.variants if matcher(searchable(v))]


class HarnessGroup(click.Group):
    """Turns InputError into one clear line and exit 2, wherever it is raised."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except InputError as error:
            console.report_input_errors([error])
            sys.exit(EXIT_BAD_INPUT)


@click.group(cls=HarnessGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ft-harness")
def main() -> None:
    """Turn fine-tuning stack failures (PEFT x quantization x checkpointing) into reproducible facts."""


@main.command("run")
@click.argument("paths", nargs=-1)
@click.option("-k", "keyword", help="only variants matching this expression (substrings, and/or/not)")
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
def run_command(
    paths: tuple[str, ...],
    keyword: str | None,
    jobs: int,
    device: str,
    out: Path | None,
    resume: bool,
    timeout: float | None,
    memory_mb: int | None,
    isolation: str | None,
    cell: str | None,
) -> None:
    """Run scenarios (default: the catalog in ./scenarios) on the installed stack."""
    catalog, variants = select(paths, keyword)
    console.report_input_errors(catalog.errors)
    if resume:
        if out is None:
            raise InputError("--resume needs --out FILE (the results file to complete)")
        done = completed_ids(out)
        variants = [v for v in variants if v.id not in done]
        console.out.print(f"resuming {out}: {len(done)} recorded, {len(variants)} to run")
    if not variants and not resume:
        raise InputError("no scenario variant to run" + (f" matches -k {keyword!r}" if keyword else ""))
    run_id = new_run_id()
    out = out or RUNS_DIR / f"{run_id}.jsonl"
    options = RunOptions(
        out=out,
        device=device,
        jobs=jobs,
        isolation=isolation,
        limits=Limits(timeout, memory_mb),
        cell=cell,
        run_id=run_id,
    )
    with console.progress(len(variants)) as on_record:
        result = run(variants, options, on_record)
    console.summary(result.records)
    console.totals(result.records, result.wall_s, str(out))
    if catalog.errors:
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_UNEXPECTED if result.unexpected else EXIT_OK)


@main.command("list")
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
    context = current_context()
    context = type(context)(versions=context.versions, device="cpu", axes=variant.axes)
    entry = next((e for e in variant.scenario.expect if holds(e.when, context)), None)
    if entry is None:
        return "passed"
    detail = f" {entry.error}" if entry.error else ""
    return f"{entry.outcome}{detail}" + (f" @{entry.phase}" if entry.phase else "")


def _print_table(variants: list[Variant]) -> None:
    from rich.markup import escape
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


@main.command("show")
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
    console.out.print(f"{variant.id}  {variant.source}:{variant.line}", markup=False)
    console.out.print(variant.scenario.description, markup=False)
    console.out.print(
        yaml.safe_dump(variant.scenario.model_dump(mode="json", exclude_defaults=True), sort_keys=False), markup=False
    )
    files = list(results_paths) or sorted(Path("reports").rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    records = [r for r in read_results(files).records if r.id == variant_id]
    if not records:
        console.out.print("no recorded result (run `harness run -k ...`)")
        return
    latest = records[-1]
    console.out.print(f"latest result (run {latest.run_id}):", markup=False)
    console.out.print_json(json.dumps(latest.model_dump(mode="json", by_alias=True, exclude={"scenario"})))


@main.command("schema")
@click.option("--record", is_flag=True, help="the result record's schema instead of the scenario file's")
def schema_command(record: bool) -> None:
    """Print the JSON Schema of scenario files (for editors) or of result records."""
    if record:
        from harness.record import Record

        schema = Record.model_json_schema(by_alias=True)
    else:
        from harness.dsl.schema import ScenarioFile

        schema = ScenarioFile.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    click.echo(json.dumps(schema, indent=2))
