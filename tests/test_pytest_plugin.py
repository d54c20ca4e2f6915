"""The pytest plugin: `pytest scenarios/ -n 2` gives the verdicts `harness run` gives, as test items."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, harness

METHODS = "scenarios/methods"  # relative to the root both run from: records keep paths as given


@dataclass
class PytestRun:
    code: int
    output: str
    records: dict[str, dict]
    cases: dict[str, ET.Element]


def run_pytest(*args: str | Path, tmp_path: Path, timeout: float = 900) -> PytestRun:
    """pytest in a subprocess, as a user runs it from the project's root, with its records and JUnit file."""
    out, junit = tmp_path / "pytest.jsonl", tmp_path / "junit.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *map(str, args)]
    command += [f"--ft-out={out}", f"--junitxml={junit}"]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )
    records = {}
    if out.exists():
        records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    cases = {}
    if junit.exists():
        cases = {case.get("name"): case for case in ET.parse(junit).iter("testcase")}
    return PytestRun(done.returncode, done.stdout + done.stderr, records, cases)


def collected(*args: str | Path) -> list[str]:
    """Node ids pytest collects for ``args`` from the project's root."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 5), done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_plugin_is_registered_for_pytest() -> None:
    plugins = {entry.name: entry.value for entry in metadata.entry_points(group="pytest11")}
    assert plugins.get("ft-harness") == "harness.pytest_plugin"


@pytest.mark.slow
def test_pytest_n2_gives_the_verdicts_harness_run_gives(tmp_path: Path) -> None:
    reference = harness("run", METHODS, "-j", "2", out=tmp_path / "harness.jsonl")
    assert reference.code == 0, reference.stdout + reference.stderr
    expected = reference.by_id()
    ran = run_pytest(METHODS, "-n", "2", tmp_path=tmp_path)
    assert ran.code == 0, ran.output
    assert "2 workers" in ran.output or "created: 2/2 workers" in ran.output or "[gw1]" in ran.output, ran.output
    assert set(ran.records) == set(expected) == set(ran.cases)
    for variant, record in ran.records.items():
        wanted = expected[variant]
        assert record["outcome"] == wanted["outcome"], variant
        assert record["signature"] == wanted["signature"], variant
        assert record["expectation"]["verdict"] == wanted["expectation"]["verdict"] == "as_expected", variant
        assert record["source"] == wanted["source"] and record["scenario"] == wanted["scenario"], variant
        properties = {p.get("name"): p.get("value") for p in ran.cases[variant].iter("property")}
        assert properties["ft_outcome"] == wanted["outcome"], variant
        assert ran.cases[variant].find("failure") is None, variant
    # expected failures pass: some of these variants fail on purpose
    assert any(r["outcome"] == "failed" for r in ran.records.values())
    # both workers wrote into one run, one file
    assert len({r["run_id"] for r in ran.records.values()}) == 1


def test_an_unexpected_result_fails_with_the_records_summary(tmp_path: Path) -> None:
    ran = run_pytest(FIXTURES / "e2e" / "unexpected.yaml", FIXTURES / "e2e" / "kinds.yaml", tmp_path=tmp_path)
    assert ran.code == 1, ran.output
    record = ran.records["wrong-expectation"]
    assert record["outcome"] == "passed" and record["expectation"]["verdict"] == "unexpected"
    failure = ran.cases["wrong-expectation"].find("failure")
    assert failure is not None
    message = failure.get("message")
    assert message.startswith("passed\n")
    for mismatch in record["expectation"]["mismatches"]:
        assert mismatch in message
    assert "Traceback" not in failure.text and "pytest_plugin.py" not in failure.text
    assert "FAILED tests/fixtures/e2e/unexpected.yaml::wrong-expectation - passed" in ran.output
    # the other file's variants, expected failures and silent results included, pass
    for variant in ("kinds[passes]", "kinds[bad-keyword]", "kinds[silent-no-grad]", "kinds[nan-grads]"):
        assert ran.cases[variant].find("failure") is None, variant
        assert ran.records[variant]["expectation"]["verdict"] == "as_expected", variant
    assert {ran.records[v]["outcome"] for v in ran.records} == {"passed", "failed", "silent"}


def test_collection_selects_as_harness_does_and_leaves_the_projects_tests_alone() -> None:
    # `pytest` alone collects the project's tests only: no YAML, fixtures' broken scenarios included
    own = collected()
    assert own and not any(".yaml::" in node for node in own)
    # -k over the same words as `harness run -k`; -m over tags and dimensions, under --strict-markers
    ids = [node.split("::", 1)[1] for node in collected("scenarios", "-k", "bnb-4bit and not dora")]
    listed = harness("list", "scenarios", "-k", "bnb-4bit and not dora", "--ids").stdout.split()
    assert ids and sorted(ids) == sorted(listed)
    marked = [node.split("::", 1)[1] for node in collected("scenarios/methods", "-m", "bnb-4bit and not dora")]
    in_methods = harness("list", "scenarios/methods", "-k", "bnb-4bit and not dora", "--ids").stdout.split()
    assert marked and sorted(marked) == sorted(in_methods)
    # _limits.yaml is not a scenario, and hook modules beside scenarios are not test modules
    everything = collected("scenarios")
    assert len(everything) == len(harness("list", "scenarios", "--ids").stdout.split())
    assert not any("_limits" in node or node.endswith(".py") or ".py::" in node for node in everything)


def test_a_malformed_scenario_is_one_clear_collection_error(tmp_path: Path) -> None:
    ran = run_pytest(FIXTURES / "bad" / "unknown_family.yaml", "--collect-only", tmp_path=tmp_path)
    assert ran.code == 2, ran.output
    assert "unknown_family.yaml:4: model.family: unknown model family 'lama'" in ran.output
    assert "did you mean 'llama'?" in ran.output and "Traceback" not in ran.output
