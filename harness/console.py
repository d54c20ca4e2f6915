"""What a person sees: progress while variants run, then a summary grouped by outcome and signature."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.errors import InputError
from harness.outcomes import style as outcome_style
from harness.record import Record

VERDICT_STYLE = {"confirmed": "green", "refuted": "red", "partly": "yellow"}

# Logs (CI, pipes) are read in wide viewers; rich's 80 columns would fold every table row.
_LOG_WIDTH = 160
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else _LOG_WIDTH)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else _LOG_WIDTH)


def report_input_errors(errors: list[InputError]) -> None:
    for error in errors:
        err.print(f"[bold red]error:[/] {escape(error.format())}", highlight=False, soft_wrap=True)


def _line(record: Record, index: int, total: int) -> str:
    style = outcome_style(record.outcome)
    verdict = "" if record.as_expected else "  [bold red]UNEXPECTED[/]"
    width = len(str(total))
    return f"\\[{index:>{width}}/{total}] [{style}]{record.outcome:<9}[/] {escape(record.id)}{verdict}"


@contextmanager
def progress(total: int) -> Iterator[Any]:
    """Yields a callback taking each finished record."""
    if not out.is_terminal:
        count = 0

        def log_line(record: Record) -> None:
            nonlocal count
            count += 1
            out.print(_line(record, count, total))

        yield log_line
        return
    columns = (
        TextColumn("[bold]running"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task("", total=total)
        counts: Counter[str] = Counter()

        def advance(record: Record) -> None:
            counts[record.outcome] += 1
            if not record.as_expected:
                out.print(_line(record, sum(counts.values()), total))
            bar.update(
                task,
                advance=1,
                description=" ".join(f"[{outcome_style(k)}]{k} {v}[/]" for k, v in sorted(counts.items())),
            )

        yield advance


def summary(records: list[Record]) -> None:
    if not records:
        return
    out.print(_signature_table(records))
    claims = _claims_table(records)
    if claims is not None:
        out.print(claims)
    for record in records:
        if not record.as_expected:
            out.print(f"[bold red]unexpected[/] {escape(record.id)} ({escape(record.source)}:{record.line})")
            for mismatch in record.expectation.mismatches:
                out.print(f"    {mismatch}", markup=False)


def _signature_table(records: list[Record]) -> Table:
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        text = record.signature.text if record.signature else ""
        groups[(record.outcome, text)].append(record)
    table = Table(title="Outcomes by error signature", title_justify="left", expand=False)
    for column in ("outcome", "n", "unexpected", "signature", "example"):
        table.add_column(column, overflow="fold")
    for (outcome, text), members in sorted(groups.items(), key=lambda kv: (kv[0][0] != "passed", kv[0])):
        unexpected = sum(not r.as_expected for r in members)
        table.add_row(
            f"[{outcome_style(outcome)}]{outcome}[/]",
            str(len(members)),
            f"[bold red]{unexpected}[/]" if unexpected else "0",
            escape(text or "-"),
            escape(members[0].id),
        )
    return table


def _claims_table(records: list[Record]) -> Table | None:
    rows = [(record, claim) for record in records for claim in record.claims]
    if not rows:
        return None
    table = Table(title="Published claims, judged in this environment", title_justify="left")
    for column in ("verdict", "variant", "the page says", "what happened"):
        table.add_column(column, overflow="fold")
    for record, claim in rows:
        table.add_row(
            f"[{VERDICT_STYLE[claim.verdict]}]{claim.verdict}[/]",
            escape(record.id),
            escape(claim.says),
            escape(claim.actual),
        )
    return table


def totals(records: list[Record], wall_s: float, out_path: str) -> None:
    outcomes = Counter(r.outcome for r in records)
    unexpected = sum(not r.as_expected for r in records)
    parts = ", ".join(f"[{outcome_style(k)}]{v} {k}[/]" for k, v in outcomes.most_common())
    verdict = f"[bold red]{unexpected} unexpected[/]" if unexpected else "[green]all as expected[/]"
    out.print(f"{len(records)} variants: {parts} | {verdict} | {wall_s:.1f} s | results: {escape(out_path)}")
