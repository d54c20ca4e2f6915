"""How fast does the HTML report render at scale, and how big is it?

Builds a report of N variants x M cells (default 500 x 50 = 25,000 cells) from real records
copied to scale (bench/synthetic.py), opens it from disk in headless Chromium and prints the file
size and the time from navigation start until the grid is rendered (median of several loads),
plus opening a cell's details and filtering by a search.

    python bench/report_render.py reports/matrix/<run>/ [--rows 500 --cells 50 --loads 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import synthesize

from harness.report.cli import expand
from harness.report.html import SiteInput, write_site
from harness.report.model import build_grid
from harness.report.records import read_files
from harness.report.views.regressions import compare

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build(results: list[Path], rows: int, cells: int, out: Path) -> tuple[Path, float]:
    records = read_files(expand(tuple(results))).records
    if not records:
        sys.exit("no records in " + ", ".join(map(str, results)))
    started = time.perf_counter()
    data = synthesize(records, rows, cells)
    grid = build_grid(data)
    files = write_site(SiteInput(grid, None, compare(grid, None, None), [], [], []), out)
    return files.index, time.perf_counter() - started


def measure(index: Path, loads: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    ready, details, search = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(loads):
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(index.as_uri())
            page.wait_for_selector("html[data-painted]", state="attached")
            total = page.evaluate("document.documentElement.dataset.shown")
            ready.append(page.evaluate("window.FT_REPORT.paintedAt"))
            page.click(".grow .c:not(.none) >> nth=0")
            page.wait_for_selector("#details-body .dsection")
            details.append(page.evaluate("window.FT_REPORT.detailsMs"))
            page.fill("#search", "lora")
            page.wait_for_selector("html[data-searched='lora']", state="attached")
            assert page.evaluate("document.documentElement.dataset.shown") != total
            search.append(page.evaluate("window.FT_REPORT.searchMs"))
            page.close()
        browser.close()
    return {
        "ready": statistics.median(ready),
        "details": statistics.median(details),
        "search": statistics.median(search),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", nargs="+", type=Path, help="real result files or folders of them")
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("reports") / "bench-site")
    args = parser.parse_args()
    index, build_s = build(args.results, args.rows, args.cells, args.out)
    details_dir = index.parent / "details"
    sidecars = sum(p.stat().st_size for p in details_dir.glob("*.js")) if details_dir.exists() else 0
    timings = measure(index.resolve(), args.loads)
    print(f"report of {args.rows} variants x {args.cells} cells = {args.rows * args.cells} cells")
    print(f"  built in            {build_s:8.2f} s (python: grid, views, details)")
    print(f"  index.html          {index.stat().st_size / 1e6:8.2f} MB")
    print(f"  details/ beside it  {sidecars / 1e6:8.2f} MB")
    loads = f"median of {args.loads}"
    print(f"  first render        {timings['ready']:8.1f} ms  (navigation start -> first frame with the grid, {loads})")
    print(f"  open a cell         {timings['details']:8.1f} ms  (click -> details drawn, incl. loading its block)")
    print(f"  search 'lora'       {timings['search']:8.1f} ms  (filter every row and redraw, after a 120 ms debounce)")


if __name__ == "__main__":
    main()
