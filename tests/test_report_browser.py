"""The HTML report in a real browser: headless Chromium opens it from disk, as a maintainer would.

Screenshots go to reports/test-artifacts/ (look at them: the report is meant to be read).
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTIFACTS, FIXTURES, HOSTILE, ROOT, ReportData, harness

from harness.report.html import boundary_context
from harness.report.model import build_grid
from harness.report.records import read_files
from harness.report.views.boundaries import find_boundaries
from harness.report.views.signatures import group_by_signature
from harness.signature import signature_id, signature_text

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
        self.records: list[dict[str, Any]] = []  # what the page was built from, where a test needs it
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


def open_page(chromium: Any, index: Path, width: int = 1500, url: str | None = None) -> Iterator[Opened]:
    page = chromium.new_page(viewport={"width": width, "height": 900})
    opened = Opened(page)
    page.goto(url or index.as_uri())
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


# -- a maintainer's questions, on a history of three runs ------------------------------------------
# Run 1 is real (this environment); runs 2 and 3 are edited copies of it, as a nightly that moved
# would produce: a regression whose message names a version, a failure on an edited scenario
# definition, a fix, and messages the stack printed at import.

HISTORY_SCENARIOS = (
    FIXTURES / "e2e" / "kinds.yaml",
    ROOT / "scenarios" / "seeds",
    ROOT / "scenarios" / "upstream" / "peft_1720_qlora_sequence_classification_head.yaml",
)
REGRESSED = "kinds[passes]"
EDITED = "seed-000-lora-config-gradient-checkpointing[model-level-checkpointing]"
FIXED = "peft-1720-qlora-sequence-classification-head[default-skip-modules]"
FIXED_LATER = "kinds[silent-no-grad]"
UPSTREAM = "peft-1720-qlora-sequence-classification-head[int8-default-skip-modules]"
TRACED = "seed-002-kbit-prepare-use-reentrant[no-hook-reentrant]"  # harness frames, then torch's
VERSION_MESSAGE = "The version of PEFT you are using is not compatible, please use a version >= 0.22.0"
IMPORT_MESSAGES = ["FutureWarning: `resume_download` is deprecated", "bitsandbytes was compiled without GPU support"]


@dataclass
class History3:
    index: Path
    summary: str
    runs: list[list[dict[str, Any]]]


def _failed_like(record: dict[str, Any], donor: dict[str, Any], message: str) -> None:
    """The record now fails at attach with this message (the signature as the runner makes it)."""
    text = signature_text("attach", "ValueError", message)
    record.update(
        outcome="failed",
        phase="attach",
        error={**copy.deepcopy(donor["error"]), "type": "ValueError", "message": message, "causes": []},
        signature={"id": signature_id(text), "text": text},
        expectation={**(record.get("expectation") or {}), "verdict": "unexpected"},
    )


def _passed(record: dict[str, Any]) -> None:
    record.update(outcome="passed", phase=None, error=None, signature=None, reason=None)
    record["checks"] = {**(record.get("checks") or {}), "failed": []}


@pytest.fixture(scope="module")
def history3(tmp_path_factory: pytest.TempPathFactory) -> History3:
    folder = tmp_path_factory.mktemp("history3")
    first = folder / "run1.jsonl"
    done = harness("run", *HISTORY_SCENARIOS, "-j", "2", "--cell", "current", out=first)
    assert done.code in (0, 1) and done.records, done.stdout[-3000:] + done.stderr[-3000:]
    run1 = done.records
    by_id = {r["id"]: r for r in run1}
    assert by_id[REGRESSED]["outcome"] == "passed" and by_id[EDITED]["outcome"] == "passed"
    assert by_id[FIXED]["outcome"] == "failed" and by_id[FIXED_LATER]["outcome"] == "silent"
    donor = by_id[UPSTREAM]
    run2 = copy.deepcopy(run1)
    for record in run2:
        record["env"]["import_messages"] = IMPORT_MESSAGES
        if record["id"] == REGRESSED:
            _failed_like(record, donor, VERSION_MESSAGE)
        elif record["id"] == EDITED:
            _failed_like(record, donor, "LoRA rank 99 is larger than the layer")
            record["scenario"]["peft"]["config"] = {**record["scenario"]["peft"]["config"], "r": 99}
        elif record["id"] == FIXED:
            _passed(record)
    run3 = copy.deepcopy(run2)
    for record in run3:
        if record["id"] == FIXED_LATER:
            _passed(record)
    db, out = folder / "history.sqlite", folder / "site"
    for number, records in enumerate((run1, run2, run3), start=1):
        path = folder / f"run{number}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        done = harness("report", path, "--db", db, "--out", out)
        assert done.code == 0, done.stderr
    return History3(out / "index.html", (out / "summary.md").read_text(), [run1, run2, run3])


@pytest.fixture
def history_page(chromium: Any, history3: History3) -> Iterator[Opened]:
    for opened in open_page(chromium, history3.index):
        opened.records = history3.runs[-1]
        yield opened


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"))


def test_variant_names_are_whole_or_lose_their_middle_and_the_column_resizes(chromium: Any, history3: History3) -> None:
    for opened in open_page(chromium, history3.index, width=1500):
        labels = opened.page.locator(".grow .rlabel")
        assert labels.count() > 10
        for label in labels.all():
            assert label.inner_text() == label.get_attribute("data-id")  # every name whole
            assert label.evaluate("n => n.scrollWidth <= n.clientWidth")  # and nothing cut by CSS
        shot(opened.page, "names-wide")
    for opened in open_page(chromium, history3.index, width=700):
        page = opened.page
        long_label = page.locator(f".rlabel[data-id='{UPSTREAM}']")
        text = long_label.inner_text()
        # too long for a narrow window: the middle goes, the head and the axes stay, the title keeps all
        assert "\u2026" in text and UPSTREAM.startswith(text.split("\u2026")[0])
        assert UPSTREAM.endswith(text.split("\u2026")[1]) and text.endswith("skip-modules]")
        assert UPSTREAM in long_label.get_attribute("title")
        shot(page, "names-narrow")
        handle = page.locator(".grid-head .resizer").bounding_box()
        page.mouse.move(handle["x"] + 4, handle["y"] + 40)
        page.mouse.down()
        page.mouse.move(handle["x"] + 400, handle["y"] + 40, steps=4)
        page.mouse.up()
        page.wait_for_timeout(100)
        assert page.locator(f".rlabel[data-id='{UPSTREAM}']").inner_text() == UPSTREAM
        assert "w=" in page.url  # the width is part of the link
        shot(page, "names-resized")


def test_cells_say_why_with_a_legend_and_silent_checks_by_name(history_page: Opened) -> None:
    page = history_page.page
    history_page.search("kinds")
    cell = page.locator(f".grow[data-row='{history_page.row_of('kinds[bad-keyword]')}'] .c").first
    assert cell.inner_text() == "unexpected kwarg no_such_option"
    assert "no_such_option" in cell.get_attribute("title")
    nan = page.locator(f".grow[data-row='{history_page.row_of('kinds[nan-grads]')}'] .c").first
    assert "nonfinite-grad" in nan.inner_text()  # a silent cell names the checks that failed
    regressed = page.locator(f".grow[data-row='{history_page.row_of(REGRESSED)}'] .c").first
    assert regressed.inner_text() == "needs >= 0.22.0"  # the version the message asks for, kept
    page.click("#legend-toggle")
    legend = page.locator("#legend")
    assert legend.is_visible()
    row = legend.locator("tr", has_text="unexpected kwarg no_such_option")
    assert "TypeError" in row.inner_text() and "got an unexpected keyword argument" in row.inner_text()
    shot(page, "legend")
    row.click()
    page.wait_for_timeout(200)
    assert [label.get_attribute("data-id") for label in page.locator(".grow .rlabel").all()] == ["kinds[bad-keyword]"]


def test_a_link_brings_back_the_cell_tab_filters_and_search(chromium: Any, history3: History3) -> None:
    for opened in open_page(chromium, history3.index):
        page = opened.page
        opened.search("seed")
        page.uncheck("#outcome-filters input[data-outcome='passed']")
        page.select_option("#group-by", "")
        shown = opened.shown()
        page.click(".grow .c:not(.none) >> nth=0")
        page.wait_for_selector("#details-body .dsection")
        variant = page.inner_text("#details .dhead h2")
        link = page.url
        assert "q=seed" in link and "hide=passed" in link and "group=none" in link and "row=" in link
    for opened in open_page(chromium, history3.index, url=link):  # a fresh page, opened from the link
        page = opened.page
        page.wait_for_selector("#details-body .dsection")
        assert page.input_value("#search") == "seed" and opened.shown() == shown
        assert not page.is_checked("#outcome-filters input[data-outcome='passed']")
        assert page.input_value("#group-by") == ""
        assert page.inner_text("#details .dhead h2") == variant
        assert page.locator(".c.sel").count() == 1
        shot(page, "permalink")
        page.keyboard.press("Escape")
        assert "row=" not in page.url
        page.click(".tabs button[data-view='claims']")
        claims_link = page.url
        assert "view=claims" in claims_link
    for opened in open_page(chromium, history3.index, url=claims_link):
        opened.page.wait_for_selector("#view-claims.active")


def test_changes_are_marked_in_the_grid_and_an_edited_scenario_is_not_a_regression(
    history_page: Opened, history3: History3
) -> None:
    page = history_page.page
    # compared with the previous run by default: only the later fix
    assert page.input_value("#since") == "2"
    assert {c.get_attribute("data-change") for c in page.locator(".c[data-change]").all()} == {"fixed"}
    page.select_option("#since", "1")
    page.check("#only-changed")
    page.wait_for_timeout(100)
    rows = {label.get_attribute("data-id") for label in page.locator(".grow .rlabel").all()}
    assert rows == {REGRESSED, EDITED, FIXED, FIXED_LATER}
    kinds = {
        history_page.data()["rows"][int(c.evaluate("n => n.parentNode.dataset.row"))]["id"]: (
            c.get_attribute("data-change"),
            "ed" in c.get_attribute("class").split(),
        )
        for c in page.locator(".c[data-change]").all()
    }
    assert kinds == {
        REGRESSED: ("new failure", False),
        EDITED: ("new failure", True),  # labelled as an edit of its definition
        FIXED: ("fixed", False),
        FIXED_LATER: ("fixed", False),
    }
    edited = page.locator(f".grow[data-row='{history_page.row_of(EDITED)}'] .c").first
    assert "scenario edited" in edited.get_attribute("title")
    assert "since=1" in page.url and "changed=1" in page.url
    shot(page, "changed-since")
    details = history_page.open_cell(EDITED, "current")
    assert "scenario edited" in details.locator("[data-field=change]").inner_text()
    history = details.locator("[data-field=history]").inner_text()
    assert "#1" in history and "#2" in history and "#3 (this)" in history
    page.keyboard.press("Escape")

    changes = history_page.view("changes")
    table = changes.locator("#changes-table")
    assert "scenario edited" not in table.inner_text()  # since run 2 only the later fix changed
    page.select_option("#compare-from", "1")
    page.select_option("#compare-to", "2")
    compared = {
        row.locator("td").nth(1).inner_text(): (
            row.locator("td b").first.inner_text(),
            row.locator("td .tag.edited").count() == 1,
        )
        for row in changes.locator("tr.compared").all()
    }
    assert compared == {
        REGRESSED: ("new failure", False),
        EDITED: ("new failure", True),
        FIXED: ("fixed", False),
    }
    page.select_option("#compare-from", "3")
    page.select_option("#compare-to", "1")
    backwards = {row.locator("td").nth(1).inner_text() for row in changes.locator("tr.compared").all()}
    assert backwards == {REGRESSED, EDITED, FIXED, FIXED_LATER}
    assert "from=3" in page.url and "to=1" in page.url
    shot(page, "compare-runs")


def test_upstream_links_come_first_and_tracebacks_fold_the_harness(history_page: Opened) -> None:
    page = history_page.page
    details = history_page.open_cell(UPSTREAM, "current")
    sections = page.eval_on_selector_all("#details .dsection", "nodes => nodes.map(n => n.dataset.section)")
    assert sections[0] == "Upstream"
    links = details.locator("[data-section=Upstream] a")
    assert [a.get_attribute("href") for a in links.all()] == [
        "https://github.com/huggingface/peft/issues/1720",
        "https://github.com/huggingface/peft/issues/1222",
    ]
    # messages printed at import are part of the cell's environment
    environment = details.locator("[data-field=import-messages]").inner_text()
    assert all(message in environment for message in IMPORT_MESSAGES)
    page.keyboard.press("Escape")
    # harness frames, then torch's: the harness's folded, the library's highlighted
    details = history_page.open_cell(TRACED, "current")
    record = next(r for r in history_page.records if r["id"] == TRACED)
    frames = record["error"]["traceback"]
    own = [f for f in frames[:-1] if f["file"].startswith("harness/")]  # the innermost frame always shows
    libraries = ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "trl", "safetensors")
    library = [f for f in frames if f["file"].split("/")[0] in libraries]
    assert own and library
    traceback = details.locator("[data-section='Traceback (innermost last)']")
    assert traceback.locator("tr.own").count() == len(own) and traceback.locator("tr.own:visible").count() == 0
    assert traceback.locator("tr.lib").count() == len(library)
    assert f"{len(own)} harness frames" in traceback.locator("tr.fold").first.inner_text()
    # a claim's source without a web address is named as a path kept in the repository
    upstream = details.locator("[data-section=Upstream]").inner_text()
    assert "scenarios/seeds/pages/002_2f7765fb764d8ecd.txt" in upstream and "no web address recorded" in upstream
    shot(page, "traceback-folded")
    traceback.locator("button.unfold").first.click()
    assert traceback.locator("tr.own:visible").count() == len(own)
    page.keyboard.press("Escape")
    # raised inside the harness's own call (LoraConfig(**config)): that innermost frame stays in view
    details = history_page.open_cell("seed-000-lora-config-gradient-checkpointing[broken]", "current")
    traceback = details.locator("[data-section='Traceback (innermost last)']")
    innermost = traceback.locator("tbody > tr").last
    assert innermost.is_visible() and innermost.inner_text().startswith("harness/")
    page.keyboard.press("Escape")
    cards = history_page.view("signatures")
    card = cards.locator("details.card", has_text="only Tensors of floating point dtype")
    assert card.locator(".upstream a").first.get_attribute("href") == "https://github.com/huggingface/peft/issues/1720"
    version = cards.locator("details.card", has_text="please use a version >= <version>")
    assert VERSION_MESSAGE in version.text_content()  # the signature strips the version; the raw message keeps it
    shot(page, "signature-cards")


def test_the_filtered_grid_exports_as_csv_and_json(history_page: Opened, tmp_path: Path) -> None:
    page = history_page.page
    history_page.search("kinds")
    page.uncheck("#outcome-filters input[data-outcome='passed']")
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    kinds = [r for r in history_page.records if r["id"].startswith("kinds[") and r["outcome"] != "passed"]
    assert sorted((r["variant"], r["outcome"]) for r in rows) == sorted((r["id"], r["outcome"]) for r in kinds)
    assert all(r["cell"] == "current" and r["label"] for r in rows)
    with page.expect_download() as download:
        page.click("#export-json")
    exported = json.loads(Path(download.value.path()).read_text())
    assert [(e["variant"], e["label"], e["signature"]) for e in exported] == [
        (r["variant"], r["label"], r["signature"]) for r in rows
    ]
    regressed = next(e for e in exported if e["variant"] == REGRESSED)
    assert regressed["change"] == "" and regressed["outcome"] == "failed"  # since run 2 it did not change


def test_outcome_trends_over_the_history(history_page: Opened) -> None:
    charts = history_page.view("charts")
    assert "Outcome trends over the history" in charts.inner_text()
    assert charts.locator("#run-chart text", has_text="#3").count() == 1
    assert charts.locator("#run-chart rect").count() >= 3
    shot(history_page.page, "trends")


def test_summary_md_shows_signatures_as_code_and_edits_apart(history3: History3) -> None:
    summary = history3.summary
    assert "## Changes since run #2" in summary and f"| fixed | {FIXED_LATER} |" in summary.replace("\\_", "_")
    assert "`attach | TypeError: LoraConfig.__init__() got an unexpected keyword argument" in summary.replace(
        "\\|", "|"
    )
    assert "**init**" not in summary and "\\_\\_init\\_\\_" not in summary.split("## Failures by signature")[1]


def test_version_boundaries_are_grouped_with_bisect_commands(opened: Opened, report_data: ReportData) -> None:
    grid = build_grid(read_files([*report_data.grid_files, report_data.nightly_current]).records)
    expected = boundary_context(grid)["boundaries"]
    assert sum(len(b["variants"]) for b in expected) == len(find_boundaries(grid))
    boundaries = opened.view("boundaries")
    assert boundaries.locator("tbody > tr").count() == len(expected)
    for shown in expected:
        if len(shown["variants"]) > 1:
            row = boundaries.locator("tbody > tr", has_text=shown["id"]).first
            assert f"+ {len(shown['variants']) - 1} more" in row.inner_text()
    row = boundaries.locator("tbody > tr", has_text=BROKEN).first
    row.locator("details.bisect summary").first.click()
    commands = row.locator("details.bisect pre").all_inner_texts()
    current = metadata.version("transformers")
    assert f"harness bisect '{BROKEN}' --package transformers --good {current} --bad 4.57.6" in "\n".join(commands)
    assert any(
        c.startswith(f"harness bisect '{BROKEN}' --package peft --good {metadata.version('peft')}") for c in commands
    )
    opened.shot("boundaries-grouped")
