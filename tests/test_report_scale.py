"""The report at 500 scenario variants x 50 cells: its page stays small and loads in Chromium.

How fast it renders is measured by bench/report_render.py (printed numbers, not a timed test).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from conftest import ROOT, ReportData

from harness.report.html import SiteInput, write_site
from harness.report.model import build_grid
from harness.report.records import read_files
from harness.report.views.regressions import compare

MAX_PAGE_BYTES = 10_000_000


def synthesize(records: list[dict], rows: int, cells: int) -> list[dict]:
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "bench" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthesize(records, rows, cells)


def test_500_variants_by_50_cells_make_a_page_under_10_mb(
    report_data: ReportData, tmp_path: Path, chromium: Any
) -> None:
    records = read_files(report_data.grid_files).records
    grid = build_grid(synthesize(records, 500, 50))
    assert (len(grid.rows), len(grid.cells), len(grid.entries)) == (500, 50, 25_000)
    files = write_site(SiteInput(grid, None, compare(grid, None, None), [], [], []), tmp_path)
    assert files.size < MAX_PAGE_BYTES, f"{files.size / 1e6:.1f} MB"
    assert files.details_dir is not None and len(list(files.details_dir.glob("cell-*.js"))) == 50 * 5
    page = chromium.new_page(viewport={"width": 1500, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(files.index.as_uri())
    page.wait_for_selector("html[data-ready]", state="attached")
    assert page.get_attribute("html", "data-shown") == "500"
    # virtualised: only the rows in view (and a margin) are in the DOM
    assert 10 < page.locator(".grow").count() < 120
    page.click(".grow .c:not(.none) >> nth=0")
    page.wait_for_selector("#details-body .dsection")
    assert errors == []
    page.close()
