"""The report's views computed from real two-stack results plus an unbuildable matrix cell."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest
from conftest import HOSTILE, OLDER_STACK, ReportData, harness
from markdown_it import MarkdownIt

from harness import packages
from harness.report.cells import UNBUILT, cell_key
from harness.report.markdown import cell_text, code_span
from harness.report.model import Grid, build_grid
from harness.report.records import read_files
from harness.report.views.boundaries import find_boundaries
from harness.report.views.claims import judge_claims
from harness.report.views.signatures import group_by_signature

BROKEN = "seed-001-peft-checkpointing-backward-twice[broken]"


@pytest.fixture(scope="module")
def grid(report_data: ReportData) -> Grid:
    return build_grid(read_files(report_data.grid_files).records)


@pytest.fixture(scope="module")
def site(report_data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("views-site")
    done = harness("report", *report_data.grid_files, "--db", out / "h.sqlite", "--out", out)
    assert done.code == 0, done.stderr
    return out


def test_cells_are_columns_in_version_order_headed_by_their_versions(grid: Grid) -> None:
    keys = [cell.key for cell in grid.cells]
    assert keys[1:] == ["older", "current"] and keys[0].startswith("py3.11-torch2.13.0-tf4.36.2")
    unbuilt, older, current = grid.cells
    assert older.versions["transformers"] == OLDER_STACK["transformers"] and older.versions["peft"] == "0.17.1"
    assert current.versions["transformers"] == metadata.version("transformers")
    assert ("tf", OLDER_STACK["transformers"]) in older.header
    assert older.lock["peft"] == "0.17.1" and "ft-harness" not in older.pins()
    # the unbuildable cell knows only what it asked for, and says so in every row
    assert unbuilt.lock == {} and unbuilt.pins()["transformers"] == "4.36.2"
    assert {e.outcome for (_, c), e in grid.entries.items() if c == unbuilt.index} == {"unresolvable"}


def test_a_record_without_a_cell_name_gets_one_from_its_environment(report_data: ReportData) -> None:
    record = read_files([report_data.current]).records[0]
    key = cell_key({**record, "cell": None})
    env = record["env"]
    assert key.startswith(f"py{env['python']}-torch{env['torch']}-tf{env['transformers']}-peft{env['peft']}-")
    assert key.endswith(f"-acc{env['accelerate']}-cpu")
    # every quantization backend's package that is installed is part of the stack's identity
    for name in packages.quantization_packages():
        if env.get(name):
            assert f"-{packages.short_name(name)}{env[name]}-" in key, name


def test_failures_are_grouped_by_signature_with_their_scenarios_and_cells(grid: Grid) -> None:
    groups = group_by_signature(grid)
    failing = [e for e in grid.entries.values() if e.outcome != "passed"]
    assert sum(g.count for g in groups) == len(failing)
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)
    unresolvable = next(g for g in groups if "unresolvable" in g.outcomes)
    assert unresolvable.count == 4 and unresolvable.label == "unresolvable"
    # signatures strip numbers and paths ("=1" becomes "=<n>"), not markup
    hostile = next(g for g in groups if "<script>window.__ft_pwned" in g.text)
    assert hostile.label == "TypeError" and {grid.cells[c].key for c, _ in hostile.cells(grid)} == {"older", "current"}
    assert hostile.scenarios(grid) == [("escape-check", ["older", "current"])]


def test_boundaries_say_where_an_outcome_changes_and_which_packages_change_together(grid: Grid) -> None:
    found = {b.row.id: b for b in find_boundaries(grid)}
    broken = found[BROKEN]
    axes = {axis.package: axis for axis in broken.explaining}
    current = metadata.version("transformers")
    assert (
        axes["transformers"].sentence()
        == f"failed with transformers <= {OLDER_STACK['transformers']}, passed from {current}"
    )
    # every package differs between the two stacks: the matrix cannot tell them apart
    assert ["transformers", "peft", "bitsandbytes", "accelerate"] in broken.confounded()
    # unbuildable cells are no evidence about a scenario
    assert sum(broken.outcomes.values()) == 2
    for boundary in found.values():
        outcomes = {e.outcome for e in grid.row_entries(boundary.row.index) if e.outcome not in UNBUILT}
        assert len(outcomes) > 1


def test_claims_collect_every_cells_verdict(grid: Grid, report_data: ReportData) -> None:
    claims = judge_claims(grid)
    judged = [
        (r["id"], r["cell"], c["says"], c["verdict"])
        for r in read_files(report_data.grid_files).records
        if r["outcome"] not in UNBUILT  # a cell that never ran is no evidence
        for c in r["claims"]
    ]
    assert sorted((e.variant, grid.cells[e.cell].key, c.says, e.verdict) for c in claims for e in c.evidence) == sorted(
        judged
    )
    for claim in claims:
        verdicts = {e.verdict for e in claim.evidence}
        assert claim.verdict == (verdicts.pop() if len(verdicts) == 1 else "partly")
    assert {c.source.rsplit("/", 1)[-1][:3] for c in claims} >= {"000", "001", "002"}  # the three seed pages


def test_junit_has_a_suite_per_cell_and_fails_only_the_unexpected(site: Path, grid: Grid) -> None:
    root = ET.parse(site / "junit.xml").getroot()
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {cell.key for cell in grid.cells}
    assert int(root.get("tests")) == len(grid.entries)
    unexpected = [e for e in grid.entries.values() if e.unexpected and e.outcome not in UNBUILT]
    assert int(root.get("failures")) == len(unexpected)
    assert int(root.get("errors")) == 4  # the unresolvable cell's variants
    escape = next(case for case in root.iter("testcase") if case.get("name") == "escape-check")
    assert escape.find("failure") is None  # it fails, as its scenario expects
    assert "<script>window.__ft_pwned" in escape.find("system-out").text  # XML escaping keeps the text intact
    assert suites["older"].find("properties/property[@name='transformers']").get("value") == OLDER_STACK["transformers"]


def test_markdown_summary_has_cells_signatures_claims_and_no_markup(site: Path, grid: Grid) -> None:
    summary = (site / "summary.md").read_text()
    for cell in grid.cells:
        assert f"| {cell.key} |" in summary
    assert "## Failures by signature" in summary and "## Claims" in summary
    assert "First run in the history" in summary
    # rendered as GitHub renders a table: record text shows as text, never as markup
    rendered = MarkdownIt("commonmark").enable("table").render(summary)
    assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered
    assert "&lt;script&gt;window.__ft_pwned" in rendered


def test_markdown_keeps_signatures_verbatim_and_lets_no_record_link_or_track() -> None:
    signature = "attach | TypeError: LoraConfig.__init__() got an unexpected keyword argument 'x`y'"
    pixel = "![](https://tracker.example/p.gif) [click](https://evil.example) <https://a.example> www.b.example @someone #12"
    table = f"| a | b |\n|---|---|\n| {code_span(signature)} | {cell_text(pixel)} |\n"
    html = MarkdownIt("commonmark").enable("table").render(table)
    assert "<code>attach | TypeError: LoraConfig.__init__() got an unexpected keyword argument 'x`y'</code>" in html
    assert "<strong>" not in html and "<img" not in html and "<a " not in html
    cell = html.split("<td>")[2]
    # GitHub links bare addresses, mentions and issue numbers itself: a zero-width space breaks each
    for linked in ("https://", "www.", "@someone", "#12"):
        assert linked not in cell
    assert cell_text("LoraConfig.__init__()") == "LoraConfig.\\_\\_init\\_\\_()"


def test_summary_md_labels_a_change_on_an_edited_scenario(report_data: ReportData, tmp_path: Path) -> None:
    records = read_files([report_data.current]).records
    edited = copy.deepcopy(records)
    passed = next(r for r in edited if r["outcome"] == "passed" and r["id"].startswith("kinds["))
    failing = next(r for r in records if r["outcome"] == "failed")
    passed.update({k: copy.deepcopy(failing[k]) for k in ("outcome", "phase", "error", "signature")})
    passed["scenario"]["steps"]["lr"] = 0.5
    second = tmp_path / "second.jsonl"
    second.write_text("".join(json.dumps(r) + "\n" for r in edited))
    db, out = tmp_path / "h.sqlite", tmp_path / "site"
    assert harness("report", report_data.current, "--db", db, "--out", out).code == 0
    done = harness("report", second, "--db", db, "--out", out, "--fail-on-regression")
    # the only new failure ran an edited definition: not a stack regression
    assert done.code == 0, done.stdout + done.stderr
    summary = (out / "summary.md").read_text()
    assert f"| new failure (scenario edited) | {cell_text(passed['id'])} | current |" in summary
    assert "1 of these ran an edited scenario definition" in summary


def test_the_page_carries_record_text_only_escaped(site: Path) -> None:
    page = (site / "index.html").read_text()
    assert "window.__ft_pwned" in page  # the text is there ...
    assert HOSTILE not in page and "<img src=x" not in page  # ... but never as markup
    assert "&lt;script&gt;window.__ft_pwned" in page  # server-rendered views: entities
    assert "\\u003cscript\\u003ewindow.__ft_pwned=1" in page  # data for the script: JSON escapes
