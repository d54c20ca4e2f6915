"""JUnit XML for CI test tabs: one test suite per cell, one test case per variant.

A test fails when its outcome is not what the scenario expects on that stack (the harness's own
pass/fail contract): an expected failure is a passing test. A cell that could not be built is an
error; a skip is a skip.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report.cells import UNBUILT
from harness.report.model import Entry, Grid

# Characters XML 1.0 cannot carry (ANSI escapes in output tails, NULs): dropped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_TEXT = 20_000


def _text(value: object) -> str:
    return _INVALID_XML.sub("", str(value or ""))[:MAX_TEXT]


def junit_tree(grid: Grid) -> ET.ElementTree:
    root = ET.Element("testsuites", name="ft-harness")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for cell in grid.cells:
        suite = ET.SubElement(root, "testsuite", name=_text(cell.key))
        properties = ET.SubElement(suite, "properties")
        for name, version in cell.versions.items():
            if version:
                ET.SubElement(properties, "property", name=name, value=_text(version))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        seconds = 0.0
        for row in grid.rows:
            entry = grid.entries.get((row.index, cell.index))
            if entry is None:
                continue
            kind = _add_case(suite, entry, grid)
            counts["tests"] += 1
            if kind:
                counts[kind] += 1
            seconds += float(entry.record.get("duration_s") or 0)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{seconds:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.ElementTree(root)


def _add_case(suite: ET.Element, entry: Entry, grid: Grid) -> str | None:
    record = entry.record
    row = grid.rows[entry.row]
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_text(f"{row.dims['theme']}.{row.scenario_id}"),
        name=_text(row.id),
        file=_text(row.source),
        line=str(row.line),
        time=f"{float(record.get('duration_s') or 0):.3f}",
    )
    signature = (record.get("signature") or {}).get("text", "")
    summary = f"{entry.outcome}" + (f": {signature}" if signature and entry.outcome != "passed" else "")
    ET.SubElement(case, "system-out").text = _text(summary + "\n" + (record.get("output_tail") or ""))
    if entry.outcome in UNBUILT:
        element = ET.SubElement(case, "error", message=_text(record.get("reason") or entry.outcome), type=entry.outcome)
        element.text = _text(record.get("output_tail"))
        return "errors"
    if entry.unexpected:
        mismatches = (record.get("expectation") or {}).get("mismatches") or []
        element = ET.SubElement(case, "failure", message=_text("; ".join(mismatches) or summary), type=entry.outcome)
        element.text = _text(_failure_text(record, summary))
        return "failures"
    if entry.outcome == "skipped":
        ET.SubElement(case, "skipped", message=_text(record.get("reason") or "skipped"))
        return "skipped"
    return None


def _failure_text(record: dict, summary: str) -> str:
    error = record.get("error") or {}
    lines = [summary]
    if error:
        lines.append(f"{error.get('type')}: {error.get('message')}")
        lines += [
            f"  {f.get('file')}:{f.get('line')} in {f.get('function')}: {f.get('code')}"
            for f in error.get("traceback") or []
        ]
    return "\n".join(lines)


def write_junit(grid: Grid, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(grid).write(path, encoding="utf-8", xml_declaration=True)
    return path
