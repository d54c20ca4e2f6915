"""The CLI's contract: exit codes, clear input errors, results never lost, list/show/schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import FIXTURES, ROOT, harness

from harness.families import FAMILIES


def test_a_wrong_expectation_exits_one_and_says_why(tmp_path: Path) -> None:
    done = harness("run", FIXTURES / "e2e" / "unexpected.yaml", out=tmp_path / "r.jsonl")
    assert done.code == 1
    assert "unexpected wrong-expectation" in done.stdout
    assert "outcome: expected 'failed', got 'passed'" in done.stdout
    assert done.records[0]["expectation"]["verdict"] == "unexpected"


def test_bad_input_exits_two_with_file_line_and_choices_but_runs_the_rest(tmp_path: Path) -> None:
    done = harness("run", FIXTURES / "bad", out=tmp_path / "r.jsonl")
    assert done.code == 2
    assert "Traceback" not in done.stderr
    message = done.stderr.strip()
    assert "bad/unknown_family.yaml:4: model.family: unknown model family 'lama'" in message
    assert f"valid: {', '.join(FAMILIES.names()[:3])}," in message and "did you mean 'llama'?" in message
    assert [r["id"] for r in done.records] == ["good-neighbour"]
    assert done.records[0]["outcome"] == "passed"


def test_no_matching_variant_is_bad_input(tmp_path: Path) -> None:
    done = harness("run", FIXTURES / "e2e" / "kinds.yaml", "-k", "nothing-like-this", out=tmp_path / "r.jsonl")
    assert done.code == 2
    assert "no scenario variant to run matches -k 'nothing-like-this'" in done.stderr
    assert "Traceback" not in done.stderr


def test_list_shows_every_variant_id(tmp_path: Path) -> None:
    done = harness("list", FIXTURES / "e2e" / "kinds.yaml", "--ids")
    assert done.code == 0
    assert done.stdout.split() == ["kinds[passes]", "kinds[bad-keyword]", "kinds[silent-no-grad]", "kinds[nan-grads]"]


def test_list_selects_with_keyword_expressions() -> None:
    done = harness("list", FIXTURES / "e2e" / "kinds.yaml", "--ids", "-k", "kinds and not (passes or nan)")
    assert done.stdout.split() == ["kinds[bad-keyword]", "kinds[silent-no-grad]"]


def test_show_prints_the_resolved_scenario_and_its_latest_result(e2e_run, tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in e2e_run.records))
    done = harness("show", "kinds[bad-keyword]", FIXTURES / "e2e" / "kinds.yaml", "--results", results)
    assert done.code == 0, done.stderr
    assert "no_such_option: 1" in done.stdout  # the resolved scenario, as YAML
    assert '"outcome": "failed"' in done.stdout


def test_show_unknown_id_is_bad_input() -> None:
    done = harness("show", "kinds[nope]", FIXTURES / "e2e" / "kinds.yaml")
    assert done.code == 2
    assert "no variant 'kinds[nope]' (similar: kinds[bad-keyword], kinds[nan-grads]" in done.stderr


def test_schema_validates_every_catalog_file() -> None:
    done = harness("schema")
    schema = json.loads(done.stdout)
    # `_*.yaml` files are not scenarios (the catalog skips them too): _limits.yaml holds limits.
    files = sorted(p for p in (ROOT / "scenarios").rglob("*.yaml") if not p.name.startswith("_"))
    assert files
    for file in files:
        jsonschema.validate(yaml.safe_load(file.read_text()), schema)
    assert "llama" in json.dumps(schema)  # families are enumerated for editor completion
    # a backend's own fields are known to editors: valid for their backend, unknown to another
    scenario = {"id": "x", "description": "d", "model": {"family": "llama"}}
    jsonschema.validate({**scenario, "quantization": {"backend": "bnb-4bit", "quant_type": "fp4"}}, schema)
    with pytest.raises(jsonschema.ValidationError, match="quant_type"):
        jsonschema.validate({**scenario, "quantization": {"backend": "bnb-8bit", "quant_type": "fp4"}}, schema)


def test_record_schema_is_exported() -> None:
    schema = json.loads(harness("schema", "--record").stdout)
    assert {"outcome", "signature", "expectation", "claims", "env"} <= set(schema["properties"])


def test_hooks_never_run_from_a_results_file(tmp_path: Path, e2e_run) -> None:
    """A record names the hooks of its scenario; reading records must never import them."""
    marker = tmp_path / "pwned"
    (tmp_path / "evil.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\ndef boom(*args):\n    pass\n"
    )
    record = dict(e2e_run.by_id()["kinds[passes]"])
    record["scenario"] = {**record["scenario"], "steps": {**record["scenario"]["steps"], "hook": "evil:boom"}}
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(record) + "\n")
    shown = harness("show", "kinds[passes]", FIXTURES / "e2e" / "kinds.yaml", "--results", results, cwd=tmp_path)
    assert shown.code == 0, shown.stderr
    assert '"outcome": "passed"' in shown.stdout  # the record was read and shown
    assert not marker.exists()
