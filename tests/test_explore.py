"""`harness explore`: real exploration runs (no mocks) that find, shrink and write new failures.

One small exploration (two dimensions, a slice of the catalog as the known set) feeds most
tests; a second run on the same example database shows the replay. Both write to a temporary
folder, never to scenarios/found.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import Completed, harness
from hypothesis import find, given
from hypothesis import settings as hypothesis_settings

from harness.errors import InputError
from harness.explore.found import distinctive, escape
from harness.explore.known import Known, kind
from harness.explore.strategies import (
    DEFAULT_FAMILY,
    DIMENSIONS,
    DRAWS,
    MAX_TASKS,
    family_names,
    non_default,
    parse_dimensions,
    scenario_fields,
    to_scenario,
)
from harness.families import FAMILIES
from harness.record import Record, Signature
from harness.signature import signature_id

# The known set: what the seed scenarios show. Adapters x bitsandbytes is a dense corner, so a
# small budget finds failures the seeds lack on any stack (prompt learning through add_adapter,
# DoRA on 8-bit layers, ...), whichever releases are current.
CATALOG = ("scenarios/seeds",)
EXPLORE = ("--dimensions", "method,quantization", "--seed", "0", "-j", "2")
BUDGET = "100"


@dataclass
class Explored:
    first: Completed
    found: Path
    results: Path
    database: Path

    def files(self) -> list[Path]:
        return sorted(self.found.glob("found-*.yaml"))

    def catalog_records(self) -> list[dict]:
        (path,) = self.results.glob("*-catalog.jsonl")
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def explored(tmp_path_factory: pytest.TempPathFactory) -> Explored:
    root = tmp_path_factory.mktemp("explore")
    found, results, database = root / "found", root / "results", root / "db"
    catalog = [arg for path in CATALOG for arg in ("--catalog", path)]
    first = harness(
        "explore",
        *EXPLORE,
        "--budget",
        BUDGET,
        *catalog,
        "--out-dir",
        found,
        "--results-dir",
        results,
        "--database",
        database,
    )
    return Explored(first, found, results, database)


def test_explore_writes_a_minimal_failure_the_catalog_lacks(explored: Explored) -> None:
    assert explored.first.code == 0, explored.first.stdout + explored.first.stderr
    files = explored.files()
    assert files, explored.first.stdout
    known = {r["signature"]["id"] for r in explored.catalog_records() if r["signature"]}
    for path in files:
        data = yaml.safe_load(path.read_text())
        signature = data["id"].removeprefix("found-")
        assert signature not in known
        assert data["tags"] == ["found", "explore"]
        assert len(data["description"]) <= 200 and "\n" not in data["description"]
        (expect,) = data["expect"]
        assert expect["when"]["transformers"].startswith(">=") and expect["when"]["peft"].startswith(">=")
        assert expect["outcome"] in ("failed", "crashed", "timed_out", "silent") and expect["phase"]
        # Shrunk: only the fields the failure needs, and the smallest model (the default family).
        fields = {section: data[section] for section in ("model", "peft", "quantization") if section in data}
        assert 1 <= len(non_default(fields)) <= 3, data
        assert data["model"] == {"family": DEFAULT_FAMILY}
        header = path.read_text().splitlines()[:4]
        assert header[0].startswith("# Found by `harness explore`") and "shrunk by hypothesis" in header[0]
        assert any(line.startswith("# Environment: python") and "torch" in line for line in header)
    assert "new failures: " in explored.first.stdout and "files written: " in explored.first.stdout


def test_a_found_scenario_runs_as_a_normal_catalog_entry(explored: Explored, tmp_path: Path) -> None:
    listed = harness("list", explored.found, "--ids")
    assert listed.code == 0, listed.stderr
    assert sorted(listed.stdout.split()) == sorted(p.stem for p in explored.files())
    done = harness("run", explored.found, out=tmp_path / "r.jsonl")
    assert done.code == 0, done.stdout + done.stderr
    for record in done.records:
        assert record["expectation"]["verdict"] == "as_expected"
        assert record["id"] == f"found-{record['signature']['id']}"  # the same failure, reproduced


def test_a_rerun_replays_the_database_first_and_keeps_existing_files(explored: Explored) -> None:
    before = {path: path.read_text() for path in explored.files()}
    (catalog_results,) = explored.results.glob("*-catalog.jsonl")
    again = harness(
        "explore",
        *EXPLORE,
        "--budget",
        "5",  # a few examples: the replay is the point
        "--known",
        catalog_results,
        "--out-dir",
        explored.found,
        "--results-dir",
        explored.results,
        "--database",
        explored.database,
    )
    assert again.code == 0, again.stdout + again.stderr
    # The stored minimal failure is the very first example tried, not the 40-odd of a fresh search.
    first_new = re.search(r"^new (\w+) at example (\d+) \(round 1\)", again.stdout, re.MULTILINE)
    assert first_new is not None, again.stdout
    assert first_new.group(2) == "1"
    assert f"found-{first_new.group(1)}" in {p.stem for p in before}
    assert "exists" in again.stdout
    assert {path: path.read_text() for path in explored.files()} == before  # never overwritten


def test_unknown_dimensions_are_bad_input_with_the_valid_names() -> None:
    done = harness("explore", "--dimensions", "family,quantisation")
    assert done.code == 2
    assert "Traceback" not in done.stderr
    assert "unknown dimension 'quantisation'" in done.stderr
    assert f"valid: {', '.join(sorted(DIMENSIONS))}" in done.stderr
    assert "did you mean 'quantization'?" in done.stderr


# --- strategies and expectations, without the stack -----------------------------------------


def test_dimension_names_parse_and_every_dimension_has_a_draw() -> None:
    assert set(DRAWS) == set(DIMENSIONS)
    assert parse_dimensions([]) == tuple(DIMENSIONS)
    assert parse_dimensions(["steps, family", "family"]) == ("family", "steps")
    with pytest.raises(InputError, match="unknown dimension 'size'"):
        parse_dimensions(["size"])
    assert max(len(FAMILIES[name].tasks) for name in family_names()) <= MAX_TASKS


def test_shrinking_moves_every_choice_to_its_default() -> None:
    everything = scenario_fields(tuple(DIMENSIONS))
    assert find(everything, lambda fields: True) == {"model": {"family": DEFAULT_FAMILY}}
    # Asking for one non-default value shrinks to exactly that field, nothing else.
    wanted = find(everything, lambda f: f.get("quantization", {}).get("backend") == "bnb-4bit")
    assert wanted == {"model": {"family": DEFAULT_FAMILY}, "quantization": {"backend": "bnb-4bit"}}
    deep = find(everything, lambda f: f.get("checkpointing", {}).get("use_reentrant") is False)
    assert non_default(deep) == {"checkpointing.enabled": True, "checkpointing.use_reentrant": False}
    # A family needing its second task keeps the first family that has one (the simplest).
    task = find(everything, lambda f: "task" in f["model"])
    assert task["model"] == {"family": family_names()[0], "task": list(FAMILIES[family_names()[0]].tasks)[1]}


@hypothesis_settings(max_examples=200, deadline=None)
@given(scenario_fields(tuple(DIMENSIONS)))
def test_drawn_combinations_are_valid_scenarios_with_only_non_default_fields(fields: dict) -> None:
    scenario = to_scenario(fields)
    assert scenario is not None, fields  # the strategy builds valid combinations by construction
    # a backend's own options are compared with that backend's defaults
    backend = fields.get("quantization", {}).get("backend")
    minimal = {
        "model": {"family": fields["model"]["family"]},
        **({"quantization": {"backend": backend}} if backend else {}),
    }
    defaults = to_scenario(minimal)
    assert defaults is not None
    resolved, baseline = scenario.model_dump(), defaults.model_dump()
    for dotted in non_default(fields):
        section, name = dotted.split(".", 1)
        if dotted not in ("model.family", "quantization.backend"):
            assert resolved[section][name] != baseline[section][name], dotted


@hypothesis_settings(max_examples=100, deadline=None)
@given(scenario_fields(("precision",)))
def test_restricted_dimensions_leave_the_others_default(fields: dict) -> None:
    assert fields["model"] == {"family": DEFAULT_FAMILY}
    assert set(fields) <= {"model", "precision"}


def test_a_restricted_search_shrinks_within_its_dimension() -> None:
    only_precision = scenario_fields(("precision",))
    fp16 = find(only_precision, lambda f: f.get("precision", {}).get("grad_scaler") is True)
    assert fp16 == {"model": {"family": DEFAULT_FAMILY}, "precision": {"dtype": "fp16", "grad_scaler": True}}


def test_message_regexes_skip_numbers_and_still_match() -> None:
    message = "mat1 and mat2 shapes cannot be multiplied (16x64 and 32x1)"
    assert distinctive(message) == "mat1 and mat2 shapes cannot be multiplied"
    quoted = "'NoneType' object has no attribute 'unsqueeze'"
    assert distinctive(quoted) == quoted
    tricky = "Expected size 8 but got size 4 for tensor number 1 in the list (a.b[0])"
    piece = distinctive(tricky)
    assert piece is not None and not re.search(r"\d", piece.replace("tensor number", ""))
    assert re.search(escape(piece), tricky)
    assert escape("a.b (c) [d] x|y") == r"a\.b \(c\) \[d\] x\|y"


def _record(text: str) -> Record:
    return Record.model_construct(outcome="failed", signature=Signature(id=signature_id(text), text=text))


def test_failures_differing_only_in_class_names_or_dtypes_are_one_kind() -> None:
    lora = _record("attach | TypeError: modules_to_save cannot be applied to <class 'peft.tuners.lora.bnb.Linear4bit'>")
    ia3 = _record("attach | TypeError: modules_to_save cannot be applied to <class 'peft.tuners.ia3.layer.Linear'>")
    half = _record("forward | RuntimeError: expected m1 and m2 to have the same dtype, but got: float != c10::Half")
    bf16 = _record("forward | RuntimeError: expected m1 and m2 to have the same dtype, but got: float != c10::BFloat16")
    assert kind(lora) == kind(ia3) and kind(half) == kind(bf16) and kind(lora) != kind(half)
    known = Known.of([lora, half])
    assert known.covers(ia3) and known.covers(bf16)
    assert not known.covers(_record("forward | RuntimeError: something else entirely"))
