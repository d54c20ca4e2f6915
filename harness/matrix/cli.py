"""`harness matrix`: the resolved cells, as a table, JSON, or GitHub Actions' dynamic matrix."""

from __future__ import annotations

import json
from pathlib import Path

import click
from packaging.version import Version

from harness import packages
from harness.errors import InputError
from harness.matrix.cells import Cell, load_plan
from harness.matrix.sessions import FILE_VARIABLE, session_name

# GitHub Actions refuses a job matrix of more than 256 entries.
GITHUB_JOB_LIMIT = 256


@click.command("matrix")
@click.option(
    "--file",
    "matrix_file",
    type=click.Path(path_type=Path),
    default=Path("matrix.yaml"),
    envvar=FILE_VARIABLE,  # as the noxfile reads it, so `harness matrix` lists the cells nox runs
    show_default=True,
    show_envvar=True,
)
@click.option(
    "--selection",
    default="default",
    show_default=True,
    help="default (every non-optional cell), all, or a selection of matrix.yaml",
)
@click.option("--github", is_flag=True, help="print the job matrix JSON for a GitHub Actions workflow")
@click.option(
    "--max-jobs",
    type=click.IntRange(1, GITHUB_JOB_LIMIT),
    default=GITHUB_JOB_LIMIT,
    show_default=True,
    help="with --github: cells are grouped into at most this many jobs",
)
@click.option("--json", "as_json", is_flag=True, help="print the cells as JSON")
def matrix_command(matrix_file: Path, selection: str, github: bool, max_jobs: int, as_json: bool) -> None:
    """Resolve matrix.yaml against the package index and show its cells."""
    if not matrix_file.is_file():
        raise InputError("no such matrix file", matrix_file)
    cells = load_plan(matrix_file).selection(selection)
    if github:
        click.echo(json.dumps(github_matrix(cells, max_jobs)))
    elif as_json:
        click.echo(json.dumps([cell.to_json() for cell in cells], indent=2))
    else:
        _table(cells, matrix_file, selection)


def github_matrix(cells: list[Cell], max_jobs: int = GITHUB_JOB_LIMIT) -> dict[str, list[dict[str, str]]]:
    """One job per cell, or cells grouped by runner so no more than ``max_jobs`` jobs are needed."""
    groups: list[list[Cell]] = []
    by_runner: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        by_runner.setdefault((cell.runs_on, cell.device), []).append(cell)
    share = max(1, -(-len(cells) // max_jobs))  # cells per job, rounded up
    for members in by_runner.values():
        groups += [members[i : i + share] for i in range(0, len(members), share)]
    if len(groups) > max_jobs:
        raise InputError(f"{len(cells)} cells on {len(by_runner)} runner kinds do not fit in {max_jobs} jobs")
    return {"include": [_job(group) for group in groups]}


def _job(group: list[Cell]) -> dict[str, str]:
    first = group[0]
    name = first.name if len(group) == 1 else f"{first.name} +{len(group) - 1}"
    return {
        "name": name,
        "cells": " ".join(cell.name for cell in group),  # the job runs `nox -s "matrix(<cell>)"` for each
        "runs-on": first.runs_on,
        "device": first.device,
        "python": first.python,
    }


def _table(cells: list[Cell], matrix_file: Path, selection: str) -> None:
    from rich.table import Table

    from harness.console import out

    table = Table(title=f"{len(cells)} cells of {matrix_file} ({selection})", title_justify="left")
    packages = list(dict.fromkeys(k for cell in cells for k in cell.pins))
    for column in ("session", *packages, "device", "tags"):
        table.add_column(column, overflow="fold")
    for cell in cells:
        table.add_row(
            session_name(cell), *(cell.pins.get(p, "-") for p in packages), cell.device, ",".join(cell.selections) or ""
        )
    out.print(table)


@click.command("bisect")
@click.argument("scenario_id")
@click.argument("paths", nargs=-1)
@click.option("--package", required=True, help="the package whose releases are searched, e.g. transformers")
@click.option("--good", required=True, help="a version where the scenario behaves as it should")
@click.option("--bad", required=True, help="a version where it does not (older or newer than --good)")
@click.option(
    "--pin",
    "pins",
    multiple=True,
    metavar="NAME==VERSION",
    help="keep another package at this version (default: the versions installed here)",
)
@click.option("--pre", is_flag=True, help="include pre-releases between the endpoints")
@click.option(
    "--on",
    "on_field",
    metavar="FIELD",
    default=None,
    help="judge steps by one record field instead of outcome and error signature: a dotted path "
    "(effective.trainable_dtypes, checks.failed, outcome), optionally with a predicate "
    "('effective.trainable_dtypes.float32=null', 'checks.results.quant-error.worst_error<0.1', 'outcome!=passed')",
)
@click.option("--python", default=None, help="Python version for the environments (default: this one)")
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("reports/.cache/bisect"), show_default=True)
def bisect_command(
    scenario_id: str,
    paths: tuple[str, ...],
    package: str,
    good: str,
    bad: str,
    pins: tuple[str, ...],
    pre: bool,
    on_field: str | None,
    python: str | None,
    workdir: Path,
) -> None:
    """Find the release of PACKAGE where SCENARIO_ID's behaviour changes (one uv environment per step)."""
    import platform

    from harness.console import out
    from harness.matrix.bisect import Judge, bisect, candidate_versions, record_value, trial
    from harness.matrix.index import PackageIndex
    from harness.selection import select

    judge = Judge.parse(on_field)  # a malformed --on is bad input before anything is built
    select(paths, None, (scenario_id,))  # so is an unknown id
    fixed = _pins(pins, package)
    versions = candidate_versions(PackageIndex.from_environment(), package, good, bad, pre)
    python = python or ".".join(platform.python_version_tuple()[:2])
    out.print(
        f"bisecting {package} over {len(versions)} releases ({versions[0]} .. {versions[-1]}) with "
        + (", ".join(f"{k}=={v}" for k, v in fixed.items()) or "no other pins")
        + f"; judged by {judge.label}",
        markup=False,
        soft_wrap=True,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    runner = trial(scenario_id, package, fixed, paths, Path.cwd(), workdir.resolve(), python)
    good = next(v for v in versions if Version(v) == Version(good))
    result = bisect(versions, good, runner, lambda line: out.print(line, markup=False, soft_wrap=True), judge)
    good_is_low = Version(good) < Version(bad)
    before, after = result.last_low_side, result.first_high_side
    if good_is_low:
        out.print(f"last good {before}, first bad {after}", markup=False, soft_wrap=True)
    else:
        out.print(f"last bad {before}, first good {after}", markup=False, soft_wrap=True)
    for version in (before, after):
        record = result.steps[version].record or {}
        out.print(f"--- {package} {result.steps[version].describe(judge)}", markup=False, soft_wrap=True)
        shown = {k: record.get(k) for k in ("id", "outcome", "phase", "signature", "error")}
        if judge.path is not None:
            shown[judge.path] = record_value(record, judge.path)
        if judge.spec != judge.path:
            shown[judge.label] = judge.value(record)
        shown["env"] = {k: (record.get("env") or {}).get(k) for k in _STACK}
        out.print_json(json.dumps(shown, default=str))


# What a bisect step shows of a record's environment, and pins by default: the stack without optional packages.
_STACK = packages.cell_order()


def _pins(given: tuple[str, ...], package: str) -> dict[str, str]:
    """--pin values, completed with the stack's versions installed here (the other pins stay fixed)."""
    from importlib import metadata

    pins: dict[str, str] = {}
    for item in given:
        name, separator, version = item.partition("==")
        if not separator or not name or not version:
            raise InputError(f"--pin {item!r}: expected NAME==VERSION")
        pins[name.strip().lower()] = version.strip()
    for name in _STACK[1:]:
        if name != package and name not in pins:
            try:
                pins[name] = metadata.version(name).split("+", 1)[0]
            except metadata.PackageNotFoundError:
                continue
    pins.pop(package, None)
    return pins
