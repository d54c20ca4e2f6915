"""From a run of the history to every output: the HTML site, JUnit XML and the Markdown summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.report.compare import past_runs
from harness.report.html import INLINE_DETAILS_LIMIT, SiteFiles, SiteInput, write_site
from harness.report.junit import write_junit
from harness.report.markdown import summary_markdown, write_markdown
from harness.report.model import Grid, build_grid
from harness.report.store import History, Run
from harness.report.views.regressions import Comparison, compare


@dataclass
class Outputs:
    run: Run
    grid: Grid
    comparison: Comparison
    site: SiteFiles
    junit: Path
    markdown: Path
    summary: str


def run_grid(history: History, run: Run) -> Grid:
    return build_grid(history.records(run.number))


def comparison_for(history: History, run: Run, grid: Grid) -> Comparison:
    previous = history.previous(run.number)
    if previous is None:
        return compare(grid, None, None)
    return compare(grid, run_grid(history, previous), previous.number)


def build_outputs(
    history: History,
    run: Run,
    out_dir: Path,
    junit_path: Path | None = None,
    markdown_path: Path | None = None,
    problems: list[str] | None = None,
    inline_limit: int = INLINE_DETAILS_LIMIT,
) -> Outputs:
    grid = run_grid(history, run)
    previous = history.previous(run.number)
    previous_grid = run_grid(history, previous) if previous else None
    comparison = compare(grid, previous_grid, previous.number if previous else None)
    problems = run.problems if problems is None else problems
    loaded = {previous.number: previous_grid} if previous and previous_grid else {}
    past = past_runs(history, run, loaded)
    site = SiteInput(grid, run, comparison, history.runs(), problems, run.sources, past=past)
    files = write_site(site, out_dir, inline_limit)
    junit = write_junit(grid, junit_path or out_dir / "junit.xml")
    summary = summary_markdown(grid, run, comparison, problems)
    markdown = write_markdown(summary, markdown_path or out_dir / "summary.md")
    return Outputs(run, grid, comparison, files, junit, markdown, summary)
