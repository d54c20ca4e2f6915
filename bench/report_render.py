"""How fast does the HTML report render at scale, and how big is it?

Builds a report of N variants x M cells (default 500 x 50 = 25,000 cells) from real records
copied to scale (bench/synthetic.py), opens it from disk in headless Chromium and prints the file
size and the time from navigation start until the grid is rendered (median of several loads),
plus opening a cell's details and filtering by a search. With --history N the page also carries
N earlier runs (each with 2% of its outcomes flipped), so the grid marks what changed.

    python bench/report_render.py reports/matrix/<run>/ [--rows 500 --cells 50 --loads 5 --history 0]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import synthesize

from harness.report.cli import expand
from harness.report.html import SiteInput, write_site
from harness.report.model import build_grid
from harness.report.payload import PastRun
from harness.report.records import read_files
from harness.report.store import Run
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


def build(results: list[Path], rows: int, cells: int, out: Path, history: int = 0) -> tuple[Path, float]:
    records = read_files(expand(tuple(results))).records
    if not records:
        sys.exit("no records in " + ", ".join(map(str, results)))
    data = synthesize(records, rows, cells)
    past = [PastRun(n, "", "", build_grid(flipped(data, n))) for n in range(1, history + 1)]
    started = time.perf_counter()
    grid = build_grid(data)
    run = Run(history + 1, "", None, [], [], {}) if history else None
    files = write_site(SiteInput(grid, run, compare(grid, None, None), [], [], [], past=past), out)
    return files.index, time.perf_counter() - started


def flipped(records: list[dict], seed: int, share: float = 0.02) -> list[dict]:
    """A run before this one: the same records, a share of them passing where they fail now."""
    chooser = random.Random(seed)
    earlier = []
    for record in records:
        if chooser.random() >= share:
            earlier.append(record)
            continue
        outcome = "passed" if record.get("outcome") != "passed" else "failed"
        signature = None if outcome == "passed" else record.get("signature")
        earlier.append({**record, "outcome": outcome, "signature": signature})
    return earlier


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
    parser.add_argument("--history", type=int, default=0, help="earlier runs the page carries")
    args = parser.parse_args()
    index, build_s = build(args.results, args.rows, args.cells, args.out, args.history)
    details_dir = index.parent / "details"
    sidecars = sum(p.stat().st_size for p in details_dir.glob("*.js")) if details_dir.exists() else 0
    timings = measure(index.resolve(), args.loads)
    history = f", {args.history} earlier runs" if args.history else ""
    print(f"report of {args.rows} variants x {args.cells} cells = {args.rows * args.cells} cells{history}")
    print(f"  built in            {build_s:8.2f} s (python: grid, views, details)")
    print(f"  index.html          {index.stat().st_size / 1e6:8.2f} MB")
    print(f"  details/ beside it  {sidecars / 1e6:8.2f} MB")
    loads = f"median of {args.loads}"
    print(f"  first render        {timings['ready']:8.1f} ms  (navigation start -> first frame with the grid, {loads})")
    print(f"  open a cell         {timings['details']:8.1f} ms  (click -> details drawn, incl. loading its block)")
    print(f"  search 'lora'       {timings['search']:8.1f} ms  (filter every row and redraw, after a 120 ms debounce)")


if __name__ == "__main__":
    main()
