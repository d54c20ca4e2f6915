"""The report's run history: appended, never overwritten, no duplicates, bad input reported and skipped."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from pathlib import Path

from conftest import ReportData, harness

from harness.report.compare import past_runs
from harness.report.model import OUTCOME_ORDER, build_grid
from harness.report.payload import grid_payload
from harness.report.records import canonical, read_files
from harness.report.store import History


def report(db: Path, out: Path, *files: Path, extra: tuple[str, ...] = ()):
    return harness("report", *files, "--db", db, "--out", out, *extra)


def test_every_ingestion_is_a_run_and_nothing_is_stored_twice(report_data: ReportData, tmp_path: Path) -> None:
    db, out = tmp_path / "history.sqlite", tmp_path / "site"
    first = report(db, out, report_data.current)
    assert first.code == 0, first.stderr
    count = len(read_files([report_data.current]).records)
    assert f"run #1: {count} records read, {count} new" in first.stdout

    again = report(db, out, report_data.current)
    assert again.code == 0 and "nothing new" in again.stdout and "run #1" in again.stdout

    both = report(db, out, report_data.current, report_data.older, report_data.current)
    assert both.code == 0, both.stderr
    older = len(read_files([report_data.older]).records)
    assert f"run #2: {2 * count + older} records read, {older} new, {count} already in the history" in both.stdout
    assert f"{count} duplicates merged" in both.stdout

    with History(db) as history:
        runs = history.runs()
        assert [run.number for run in runs] == [1, 2]
        assert history.record_count() == count + older
        assert runs[1].summary["cells"] == ["current", "older"]
        assert runs[1].sources == [str(report_data.current), str(report_data.older), str(report_data.current)]
    listed = harness("history", "--db", db)
    assert listed.code == 0, listed.stderr
    assert "#1" in listed.stdout and "#2" in listed.stdout and "2 runs" in listed.stdout


def test_records_come_back_from_the_history_exactly_as_read(report_data: ReportData, tmp_path: Path) -> None:
    records = read_files([report_data.older, report_data.current]).records
    with History(tmp_path / "h.sqlite") as history:
        run = history.ingest(records, ["a", "b"], []).run
        loaded = history.records(run.number)
    assert [canonical(r) for r in loaded] == [canonical(r) for r in records]


def test_truncated_and_foreign_records_are_reported_and_the_rest_is_merged(
    report_data: ReportData, tmp_path: Path
) -> None:
    lines = report_data.current.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    foreign = json.loads(lines[0]) | {"schema": "ft-harness.result/2"}
    # a run killed mid-write leaves half a line; a newer harness writes another schema version
    broken.write_text("\n".join([*lines[1:], json.dumps(foreign), lines[0][: len(lines[0]) // 2]]))
    missing = tmp_path / "missing.jsonl"
    done = report(tmp_path / "h.sqlite", tmp_path / "site", broken, missing)
    assert done.code == 0, done.stderr
    assert f"{broken}:{len(lines) + 1}: not a complete JSON record (truncated write?); skipped" in done.stderr
    assert (
        f"{broken}:{len(lines)}: record schema 'ft-harness.result/2' is not 'ft-harness.result/1'; skipped"
        in done.stderr
    )
    assert f"{missing}: cannot read" in done.stderr
    assert f"run #1: {len(lines) - 1} records read" in done.stdout
    page = (tmp_path / "site" / "index.html").read_text()
    assert "3 problems reading the results (the rest was merged)" in page
    assert "truncated write?" in page
    summary = (tmp_path / "site" / "summary.md").read_text()
    assert "## Problems reading the results" in summary and "ft-harness.result/2" in summary


def test_nothing_readable_is_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    done = report(tmp_path / "h.sqlite", tmp_path / "site", empty)
    assert done.code == 2
    assert "empty results file" in done.stderr and "no readable record" in done.stderr


def test_a_run_can_be_rendered_again_and_history_is_only_appended(report_data: ReportData, tmp_path: Path) -> None:
    db, out = tmp_path / "h.sqlite", tmp_path / "site"
    assert report(db, out, report_data.older).code == 0
    assert report(db, out, report_data.current).code == 0
    again = harness("report", "--db", db, "--out", tmp_path / "site-1", "--run", "1")
    assert again.code == 0, again.stderr
    assert "older" in (tmp_path / "site-1" / "index.html").read_text()
    unknown = harness("report", "--db", db, "--out", tmp_path / "x", "--run", "7")
    assert unknown.code == 2 and "no run 7 (runs: 1..2)" in unknown.stderr
    # a copy of the database made before a new ingestion still holds every row the newer one has
    before = tmp_path / "before.sqlite"
    shutil.copy(db, before)
    assert report(db, out, report_data.unbuilt).code == 0
    with sqlite3.connect(before) as old, sqlite3.connect(db) as new:
        for table in ("runs", "records", "run_records", "blobs"):
            rows = set(old.execute(f"SELECT * FROM {table}"))
            assert rows <= set(new.execute(f"SELECT * FROM {table}")), table


def test_the_page_carries_other_runs_whole_nearby_and_by_outcome_further_back(
    report_data: ReportData, tmp_path: Path
) -> None:
    records = read_files([report_data.current]).records
    edited = copy.deepcopy(records)
    changed = next(r for r in edited if r["outcome"] == "passed")
    failing = next(r for r in records if r["outcome"] == "failed")
    changed.update({k: copy.deepcopy(failing[k]) for k in ("outcome", "phase", "error", "signature")})
    changed["scenario"]["steps"]["lr"] = 0.5  # an edited definition
    with History(tmp_path / "h.sqlite") as history:
        for batch in (edited, records, edited):
            history.ingest(batch, ["x"], [])
        run = history.latest()
        grid = build_grid(history.records(run.number))
        # run 2 (nearest) whole, run 1 by outcomes only; then both whole, for comparison
        cheap = grid_payload(grid, run.number, past_runs(history, run, whole=1))["history"]
        whole = grid_payload(grid, run.number, past_runs(history, run, whole=2))["history"]
    assert [r["number"] for r in cheap["runs"]] == [1, 2, 3] and cheap["runs"][2]["current"]
    row = next(row.index for row in grid.rows if row.id == changed["id"])
    # run 3 is run 1 again: nothing differs; run 2 differs at the edited variant only
    assert cheap["differences"]["1"] == whole["differences"]["1"] == []
    (only,) = whole["differences"]["2"]
    assert only[:2] == [row, 0] and only[2] == OUTCOME_ORDER.index("passed")
    assert cheap["differences"]["2"] == whole["differences"]["2"]  # the nearest run is loaded whole
    # further back, read by outcome and signature alone: the same change, its definition unknown (-1)
    again = copy.deepcopy(edited)
    again[-1]["duration_s"] = 1.5  # run 4: run 3 again, but for one record's timing
    with History(tmp_path / "h.sqlite") as history:
        history.ingest(again, ["x"], [])
        latest = history.latest()
        grid = build_grid(history.records(latest.number))
        cheap = grid_payload(grid, latest.number, past_runs(history, latest, whole=1))["history"]
    assert cheap["differences"]["3"] == []  # nearest, whole: the same outcomes
    (by_outcome,) = cheap["differences"]["2"]
    assert by_outcome[:4] == only[:4] and by_outcome[4] == -1
