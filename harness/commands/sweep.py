"""`harness sweep`: a base scenario over every architecture the installed transformers has.

Each variant of the base scenario (its cases and vary axes) is run once per architecture of the
auto mapping of its task (``model: {family: auto, architecture: <model type>}``), through the same
warm pool, isolation and checks as `harness run` (harness/commands/run.py's ``execute``), into a
results file like any run's: the report and the matrix show architectures x versions. The console
summary counts architectures (built tiny, all variants passed) and lists every distinct outcome
signature with the architectures that show it; ``--markdown`` writes the same as a Markdown table.

Findings are the output: the sweep exits 0 when it completed, 2 on bad input, 130/143 when stopped.
"""

from __future__ import annotations

import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import click

from harness import console
from harness.commands.run import RUNS_DIR, execute
from harness.dsl.catalog import Variant
from harness.dsl.schema import Scenario
from harness.errors import EXIT_BAD_INPUT, EXIT_OK, InputError
from harness.execution.pool import Limits
from harness.families import _auto_arch
from harness.record import Record
from harness.runner import RunOptions, new_run_id
from harness.selection import select

DEFAULT_BASE = Path("sweeps") / "lora_checkpointing.yaml"
ARCHITECTURE_AXIS = "architecture"


def architectures_for(task: str) -> list[str]:
    """Model types with a ``task`` head in the installed transformers' auto mappings."""
    return sorted(_auto_arch.model_types(task))


def swept(variant: Variant, architecture: str) -> Variant:
    """``variant`` with its model replaced by the auto family's tiny ``architecture``."""
    data = variant.scenario.model_dump(mode="json", by_alias=True)
    model = data["model"]
    data["model"] = {
        "family": "auto",
        "architecture": architecture,
        "task": model.get("task"),
        "attn_implementation": model.get("attn_implementation"),
        "seed": model.get("seed", 0),
    }
    base, _, label = variant.id.partition("[")
    label = label.rstrip("]")
    data["id"] = f"{base}[arch={architecture}{',' + label if label else ''}]"
    scenario = Scenario.model_validate(data)
    return Variant(scenario, variant.source, variant.line, {ARCHITECTURE_AXIS: architecture, **variant.axes})


def expand(variants: list[Variant], only: set[str] | None) -> list[Variant]:
    out = []
    for variant in variants:
        task = variant.scenario.model.task or _auto_arch.DEFAULT_TASK
        names = architectures_for(task)
        if not names:
            raise InputError("the installed transformers' auto mappings could not be read (is it installed?)")
        for architecture in names:
            if only is None or architecture in only:
                out.append(swept(variant, architecture))
    return out


def architecture_of(record: Record) -> str:
    return str(record.axes.get(ARCHITECTURE_AXIS) or record.id)


def signature_of(record: Record) -> str:
    if record.outcome == "passed":
        return "-"
    if record.signature is not None:
        return record.signature.text
    return f"{record.phase or '?'} | {record.outcome}: {record.reason or ''}".strip()


def counts(records: list[Record]) -> dict[str, int]:
    """Architectures swept, built tiny (no variant refused at build), passing every variant, failing one."""
    by_architecture: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_architecture[architecture_of(record)].append(record)
    unbuilt = {a for a, rs in by_architecture.items() if any(r.outcome == "skipped" and r.phase == "build" for r in rs)}
    passed = {a for a, rs in by_architecture.items() if all(r.outcome == "passed" for r in rs)}
    return {
        "architectures": len(by_architecture),
        "built tiny": len(by_architecture) - len(unbuilt),
        "passed every variant": len(passed),
        "not passed somewhere": len(by_architecture) - len(unbuilt) - len(passed),
    }


def signature_groups(records: list[Record]) -> list[tuple[str, str, int, list[str], list[str]]]:
    """(outcome, signature, variants, architectures, cases) for each distinct signature."""
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        groups[(record.outcome, signature_of(record))].append(record)
    rows = []
    for (outcome, text), members in groups.items():
        architectures = sorted({architecture_of(r) for r in members})
        cases = sorted({_case_of(r) for r in members})
        rows.append((outcome, text, len(members), architectures, cases))
    rows.sort(key=lambda row: (row[0] != "passed", row[0], -len(row[3]), row[1]))
    return rows


def _case_of(record: Record) -> str:
    label = record.id.partition("[")[2].rstrip("]")
    return re.sub(r"^arch=[^,]*,?", "", label) or "-"


def summarize(records: list[Record]) -> None:
    from rich.markup import escape
    from rich.table import Table

    numbers = counts(records)
    console.out.print(" | ".join(f"{value} {name}" for name, value in numbers.items()), markup=False)
    table = Table(title="Sweep outcomes by signature", title_justify="left")
    for column in ("outcome", "variants", "archs", "signature", "cases", "architectures"):
        table.add_column(column, overflow="fold")
    for outcome, text, n, architectures, cases in signature_groups(records):
        shown = (
            architectures if outcome != "passed" else architectures[:8] + (["..."] if len(architectures) > 8 else [])
        )
        table.add_row(
            outcome, str(n), str(len(architectures)), escape(text), escape(", ".join(cases)), escape(", ".join(shown))
        )
    console.out.print(table)


def markdown(records: list[Record], wall_s: float, versions: str) -> str:
    numbers = counts(records)
    lines = [
        f"Stack: {versions}; {len(records)} variants in {wall_s:.0f} s.",
        "",
        " | ".join(f"{value} {name}" for name, value in numbers.items()),
        "",
        "| outcome | variants | archs | signature | cases | architectures |",
        "|---|---|---|---|---|---|",
    ]
    for outcome, text, n, architectures, cases in signature_groups(records):
        shown = "(every other)" if outcome == "passed" else ", ".join(architectures)
        cell = text.replace("|", "\\|").replace("\n", " ")[:300]
        lines.append(f"| {outcome} | {n} | {len(architectures)} | {cell} | {', '.join(cases)} | {shown} |")
    return "\n".join(lines) + "\n"


@click.command("sweep")
@click.argument("paths", nargs=-1)
@click.option("-k", "keyword", help="only base variants matching this expression")
@click.option("--architectures", help="comma-separated model types (default: every one with the task's head)")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=2, show_default=True, help="variants at once")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="results file (JSON lines)")
@click.option(
    "--markdown",
    "markdown_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write counts and signature table",
)
@click.option("--timeout", type=click.FloatRange(min=0.1), help="seconds per variant (overrides scenarios)")
@click.option("--memory-mb", type=click.IntRange(min=64), help="memory cap per variant (overrides scenarios)")
@click.option("--isolation", type=click.Choice(["fork", "spawn"]), help="default: fork on CPU, spawn for CUDA")
@click.option("--cell", help="matrix cell name stored in each record")
def sweep_command(
    paths: tuple[str, ...],
    keyword: str | None,
    architectures: str | None,
    jobs: int,
    device: str,
    out: Path | None,
    markdown_out: Path | None,
    timeout: float | None,
    memory_mb: int | None,
    isolation: str | None,
    cell: str | None,
) -> None:
    """Run a base scenario (default sweeps/lora_checkpointing.yaml) over every architecture."""
    catalog, bases = select(paths or (str(DEFAULT_BASE),), keyword)
    console.report_input_errors(catalog.errors)
    if catalog.errors:
        sys.exit(EXIT_BAD_INPUT)
    only = {name.strip() for name in architectures.split(",") if name.strip()} if architectures else None
    if only:
        known = set().union(*(architectures_for(t) for t in _auto_arch.TASK_MAPPINGS))
        unknown = sorted(only - known)
        if unknown:
            raise InputError(f"--architectures: '{unknown[0]}' is not a model type of the installed transformers")
    variants = expand(bases, only)
    if not variants:
        raise InputError("no variant to sweep")
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
    names = {v.axes[ARCHITECTURE_AXIS] for v in variants}
    console.out.print(f"sweeping {len(names)} architectures x {len(bases)} base variants", markup=False)
    started = time.perf_counter()
    result = execute(variants, options, summarize)
    wall = time.perf_counter() - started
    console.out.print(f"sweep wall time: {wall:.1f} s ({wall / 60:.1f} min) for {len(variants)} variants", markup=False)
    if markdown_out is not None and result.records:
        env = result.records[0].env or {}
        versions = ", ".join(
            f"{p} {env.get(p)}" for p in ("torch", "transformers", "peft", "bitsandbytes") if env.get(p)
        )
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(markdown(result.records, wall, versions), encoding="utf-8")
    sys.exit(EXIT_OK)
