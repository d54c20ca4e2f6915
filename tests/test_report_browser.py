"""The HTML report in a real browser: headless Chromium opens it from disk, as a maintainer would.

Screenshots go to reports/test-artifacts/ (look at them: the report is meant to be read).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS, FIXTURES, HOSTILE, ReportData, harness

from harness.report.model import build_grid
from harness.report.records import read_files
from harness.report.views.signatures import group_by_signature

BROKEN = "seed-001-peft-checkpointing-backward-twice[broken]"


@pytest.fixture(scope="module")
def site(report_data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs of the history: the nightly cell moved to the current stack in the second."""
    out = tmp_path_factory.mktemp("browser-site")
    db = out / "history.sqlite"
    for nightly in (report_data.nightly_older, report_data.nightly_current):
        done = harness("report", *report_data.grid_files, nightly, "--db", db, "--out", out)
        assert done.code == 0, done.stderr
    return out / "index.html"


class Opened:
    def __init__(self, page: Any):
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def data(self) -> dict[str, Any]:
        return self.page.evaluate("JSON.parse(document.getElementById('ft-grid').textContent)")

    def row_of(self, variant: str) -> int:
        return next(i for i, row in enumerate(self.data()["rows"]) if row["id"] == variant)

    def cell_of(self, key: str) -> int:
        return next(i for i, cell in enumerate(self.data()["cells"]) if cell["key"] == key)

    def search(self, text: str) -> None:
        self.page.fill("#search", text)
        self.page.wait_for_selector(f"html[data-searched='{text}']", state="attached")

    def shown(self) -> int:
        return int(self.page.get_attribute("html", "data-shown"))

    def open_cell(self, variant: str, cell: str) -> Any:
        self.search(variant)
        row, column = self.row_of(variant), self.cell_of(cell)
        self.page.click(f".grow[data-row='{row}'] .c[data-cell='{column}']")
        self.page.wait_for_selector("#details-body .dsection")
        return self.page.locator("#details")

    def view(self, name: str) -> Any:
        self.page.click(f".tabs button[data-view='{name}']")
        return self.page.locator(f"#view-{name}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"))


def open_page(chromium: Any, index: Path, width: int = 1500) -> Iterator[Opened]:
    page = chromium.new_page(viewport={"width": width, "height": 900})
    opened = Opened(page)
    page.goto(index.as_uri())
    page.wait_for_selector("html[data-ready]", state="attached")
    yield opened
    # Opened from disk, it fetches nothing from anywhere, and its script never fails.
    assert all(url.startswith("file://") for url in opened.requests), opened.requests
    assert opened.errors == []
    page.close()


@pytest.fixture
def opened(chromium: Any, site: Path) -> Iterator[Opened]:
    yield from open_page(chromium, site)


def test_grid_shows_every_variant_by_cell_with_version_headers(opened: Opened, report_data: ReportData) -> None:
    page = opened.page
    records = read_files([*report_data.grid_files, report_data.nightly_current]).records
    assert opened.shown() == len({r["id"] for r in records})
    header = page.inner_text("#grid-head")
    assert "4.57.6" in header and metadata.version("transformers") in header and "4.36.2" in header
    assert page.locator(".ggroup").count() > 0  # grouped by theme by default
    assert page.locator(".c.o2").count() > 0 and page.locator(".c.o0").count() > 0  # failed and passed cells
    opened.shot("grid")
    # sticky headers: the column header stays put while the rows scroll under it
    page.set_viewport_size({"width": 900, "height": 420})
    before = page.locator("#grid-head").bounding_box()
    page.eval_on_selector("#grid-scroll", "node => { node.scrollTop = node.scrollHeight; node.scrollLeft = 200; }")
    page.wait_for_timeout(100)
    assert page.eval_on_selector("#grid-scroll", "node => node.scrollTop") > 0
    assert page.locator("#grid-head").bounding_box()["y"] == before["y"]
    labels = page.locator(".grow .rlabel")
    assert labels.last.bounding_box()["x"] == page.locator("#grid-scroll").bounding_box()["x"]  # sticky left
    opened.shot("grid-scrolled")


def test_a_cell_opens_its_details_with_a_reproducing_command(opened: Opened) -> None:
    details = opened.open_cell("kinds[bad-keyword]", "current")
    text = details.inner_text()
    assert "kinds[bad-keyword]" in text and "failed" in text and "phase: attach" in text and "as expected" in text
    sections = opened.page.eval_on_selector_all("#details .dsection", "nodes => nodes.map(n => n.dataset.section)")
    for section in (
        "Signature",
        "Error",
        "Traceback (innermost last)",
        "Reproduce",
        "Correctness checks",
        "What took effect",
        "Timings (s)",
        "Environment",
        "Scenario",
    ):
        assert section in sections
    assert "got an unexpected keyword argument 'no_such_option'" in details.locator("[data-field=error]").inner_text()
    command = details.locator("[data-field=command]").inner_text()
    assert (
        f"transformers=={metadata.version('transformers')}" in command
        and f"peft=={metadata.version('peft')}" in command
    )
    assert command.strip().endswith(f"harness run {FIXTURES / 'e2e' / 'kinds.yaml'} --id 'kinds[bad-keyword]'")
    assert "lock:" in text and "distributions" in text
    opened.shot("details")
    opened.page.keyboard.press("Escape")
    assert opened.page.locator("#details").is_hidden()


def test_silent_and_unbuildable_cells_say_why(opened: Opened, report_data: ReportData) -> None:
    details = opened.open_cell("kinds[silent-no-grad]", "current")
    assert "no-grad:text" in details.inner_text()
    unbuilt = read_files([report_data.unbuilt]).records[0]["cell"]
    opened.page.keyboard.press("Escape")
    details = opened.open_cell("kinds[passes]", unbuilt)
    text = details.inner_text()
    assert "unresolvable" in text and "the pins cannot be resolved together" in text
    assert "no lock recorded" in text


def test_filters_by_outcome_dimension_and_text(opened: Opened, report_data: ReportData) -> None:
    page = opened.page
    data = opened.data()
    everything = opened.shown()
    page.uncheck("#outcome-filters input[data-outcome='passed']")
    page.wait_for_selector(f"html:not([data-shown='{everything}'])", state="attached")
    # a row stays when any of its cells has an outcome still shown
    not_passed = sum(1 for codes in data["grid"] if any(c >= 0 and c & 15 != 0 for c in codes))
    assert opened.shown() == not_passed
    page.check("#outcome-filters input[data-outcome='passed']")
    opened.search("seed-002")
    labels = page.locator(".rlabel").all_inner_texts()
    assert labels and all(label.startswith("seed-002") for label in labels)
    opened.search("")
    quantization = data["dimensions"]["quantization"].index("bnb-4bit")
    page.select_option("select[data-dimension='quantization']", str(quantization))
    page.wait_for_timeout(50)
    expected = sum(1 for row in data["rows"] if row["dims"][3] == quantization)
    assert opened.shown() == expected
    page.select_option("select[data-dimension='quantization']", "")
    page.check("#only-differing")
    assert 0 < opened.shown() < everything
    opened.shot("filtered")


def test_record_text_is_shown_as_text_and_never_runs(opened: Opened) -> None:
    page = opened.page
    scripts = page.locator("script").count()
    details = opened.open_cell("escape-check", "current")
    assert HOSTILE in details.locator("[data-field=error]").inner_text()
    assert page.evaluate("window.__ft_pwned") is None
    assert page.locator("img").count() == 0 and page.locator("script").count() == scripts
    opened.shot("escape")
    page.keyboard.press("Escape")
    signatures = opened.view("signatures")
    assert "<script>window.__ft_pwned" in signatures.inner_text()
    assert page.evaluate("window.__ft_pwned") is None


def test_views_beyond_the_grid(opened: Opened, report_data: ReportData) -> None:
    page = opened.page
    grid = build_grid(read_files([*report_data.grid_files, report_data.nightly_current]).records)
    signatures = opened.view("signatures")
    assert signatures.locator("details.card").count() == len(group_by_signature(grid))
    opened.shot("signatures")
    signatures.locator("a.cellchip").first.click()
    page.wait_for_selector("#details-body .dsection")
    page.keyboard.press("Escape")

    boundaries = opened.view("boundaries")
    row = boundaries.locator("tr", has_text=BROKEN)
    assert f"failed with transformers <= 4.57.6, passed from {metadata.version('transformers')}" in row.inner_text()
    assert "this matrix cannot tell which one matters" in row.inner_text()
    opened.shot("boundaries")

    claims = opened.view("claims")
    assert claims.locator(".card.claim").count() >= 9
    verdicts = set(claims.locator(".card.claim > div:first-child .verdict").all_inner_texts())
    assert verdicts <= {"CONFIRMED", "REFUTED", "PARTLY"} and len(verdicts) >= 2
    opened.shot("claims")

    changes = opened.view("changes")
    assert "Regressions and fixes since run #1" in changes.inner_text()
    fixed = changes.locator("tr.change", has_text=BROKEN)
    assert "fixed" in fixed.inner_text() and "nightly" in fixed.inner_text()
    opened.shot("changes")

    charts = opened.view("charts")
    assert charts.locator("#cell-chart rect").count() >= len(grid.cells)
    assert charts.locator("#run-chart rect").count() >= 2
    opened.shot("charts")


def test_large_reports_keep_details_beside_the_page(chromium: Any, report_data: ReportData, tmp_path: Path) -> None:
    out = tmp_path / "site"
    done = harness(
        "report", *report_data.grid_files, "--db", tmp_path / "h.sqlite", "--out", out, "--inline-limit", "0"
    )
    assert done.code == 0, done.stderr
    files = sorted(p.name for p in (out / "details").iterdir())
    assert files == [f"cell-{i}-0.js" for i in range(3)]  # one block of rows per column here
    assert 'id="ft-details-' not in (out / "index.html").read_text()
    for opened in open_page(chromium, out / "index.html"):
        details = opened.open_cell("kinds[bad-keyword]", "older")
        assert "no_such_option" in details.inner_text()
        assert any(url.endswith("details/cell-1-0.js") for url in opened.requests)


def test_the_grid_payload_is_compact(site: Path) -> None:
    page = site.read_text()
    start = page.index('id="ft-grid">') + len('id="ft-grid">')
    data = json.loads(page[start : page.index("</script>", start)])
    assert all(isinstance(code, int) for row in data["grid"] for code in row)
