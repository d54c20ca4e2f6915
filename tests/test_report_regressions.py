"""Regressions and fixes between runs of the history, from two real nightlies of one cell."""

from __future__ import annotations

from pathlib import Path

from conftest import ReportData, harness

from harness.report.build import comparison_for, run_grid
from harness.report.records import read_files
from harness.report.store import History
from harness.report.views.regressions import FAILING

BROKEN = "seed-001-peft-checkpointing-backward-twice[broken]"  # fails before transformers 5, passes after


def expected_changes(before: Path, after: Path) -> dict[str, str]:
    """What changed between two result files, classified from the raw records."""
    old = {r["id"]: r for r in read_files([before]).records}
    new = {r["id"]: r for r in read_files([after]).records}
    changes = {}
    for variant, record in new.items():
        was, now = old[variant]["outcome"], record["outcome"]
        if was in FAILING and now == "passed":
            changes[variant] = "fixed"
        elif was not in FAILING and now == "silent":
            changes[variant] = "newly silent"
        elif was not in FAILING and now in FAILING:
            changes[variant] = "new failure"
        elif was in FAILING and now in FAILING and (was, old[variant]["signature"]) != (now, record["signature"]):
            changes[variant] = "changed signature"
    return changes


def test_the_nightly_cell_moving_to_a_new_stack_shows_fixes_and_new_failures(
    report_data: ReportData, tmp_path: Path
) -> None:
    db, out = tmp_path / "history.sqlite", tmp_path / "site"
    assert harness("report", report_data.nightly_older, "--db", db, "--out", out).code == 0
    second = harness("report", report_data.nightly_current, "--db", db, "--out", out, "--fail-on-regression")
    expected = expected_changes(report_data.nightly_older, report_data.nightly_current)
    assert expected[BROKEN] == "fixed"
    with History(db) as history:
        run = history.latest()
        comparison = comparison_for(history, run, run_grid(history, run))
    assert comparison.previous_run == 1
    assert {c.variant: c.kind for c in comparison.changes} == expected
    assert {c.cell for c in comparison.changes} == {"nightly"}
    assert second.code == (1 if comparison.regressed else 0)
    counts = comparison.counts()
    assert f"since run #1: {counts['new failure']} new failure, {counts['newly silent']} newly silent" in second.stdout

    summary = (out / "summary.md").read_text()
    assert summary.index("## Changes since run #1") < summary.index("## Cells")
    assert f"**{counts['fixed']}** fixed" in summary
    assert f"| fixed | {BROKEN} | nightly | failed" in summary


def test_going_back_to_the_old_stack_is_a_regression_and_fails_the_build_when_asked(
    report_data: ReportData, tmp_path: Path
) -> None:
    db, out = tmp_path / "history.sqlite", tmp_path / "site"
    for results in (report_data.nightly_older, report_data.nightly_current):
        assert harness("report", results, "--db", db, "--out", out).code == 0
    third = harness("report", report_data.nightly_older, "--db", db, "--out", out, "--fail-on-regression")
    assert third.code == 1, third.stdout + third.stderr
    expected = expected_changes(report_data.nightly_current, report_data.nightly_older)
    assert expected[BROKEN] == "new failure"
    with History(db) as history:
        assert [r.number for r in history.runs()] == [1, 2, 3]  # the same records again are a run of their own
        run = history.latest()
        comparison = comparison_for(history, run, run_grid(history, run))
    assert comparison.previous_run == 2
    assert {c.variant: c.kind for c in comparison.changes} == expected
    page = (out / "index.html").read_text()
    assert "Regressions and fixes since run #2" in page
    listed = harness("history", "--db", db)
    assert listed.code == 0 and "#3" in listed.stdout and "new failure" in listed.stdout
