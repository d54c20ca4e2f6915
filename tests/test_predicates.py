"""The predicate language of `effective:`/`checks:` (harness/predicates.py): syntax, meaning,
messages, errors at load time, and expectations judged on real runs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import harness

from harness import predicates
from harness.predicates import MISSING

RECORD: dict[str, Any] = {
    "effective": {
        "checkpointing": True,
        "use_reentrant": True,
        "checkpoint_api": "gradient_checkpointing_enable",
        "trainable_dtypes": {"float32": 8},
        "quantized_layers": {"Linear4bit": 14},
    },
    "checks": {
        "quant_gap": 0.004,
        "groups": {"text": {"trainable": 8, "with_grad": 8, "nonzero_grad": 0}},
        "losses": [4.8, 4.7],
        "failed": ["no-grad:text (8 of 8)"],
        "updated": True,
        "reference_loss": None,
        "intent": {"checkpointing-active": {"passed": False, "checkpoint_calls": 0}},
        "listed": [{"name": "adapter-dtype", "passed": True}],
    },
}


@pytest.mark.parametrize(
    ("predicate", "value", "held"),
    [
        # a plain value is equality; a bool only equals a bool
        (True, True, True),
        (True, 1, False),
        (1, True, False),
        (8, 8.0, True),
        ("bfloat16", "bfloat16", True),
        ("bfloat16", "float32", False),
        # null: null or absent
        (None, None, True),
        (None, MISSING, True),
        (None, 0, False),
        (False, MISSING, False),
        # comparisons
        (">0", 3, True),
        (">0", 0, False),
        (">0", None, False),
        (">0", "5", False),  # ordering holds only for numbers
        (">0", True, False),
        ("<=0.01", 0.01, True),
        ("<0.01", 0.02, False),
        (">=1e-3", 0.001, True),
        ("==0", 0, True),
        ("==0", 0.0, True),
        ("==0", MISSING, False),
        ("!=0", MISSING, True),
        ("!=bfloat16", "float32", True),
        ("!=bfloat16", "bfloat16", False),
        ("==true", True, True),
        ("!=null", MISSING, False),
        ("!=null", 8, True),
        ("==null", None, True),
        # membership, containment, negation, conjunction, exactness
        ({"in": ["bfloat16", "float16"]}, "float16", True),
        ({"in": ["bfloat16", "float16"]}, "float32", False),
        ({"in": [None, False]}, MISSING, True),
        ({"contains": "no-grad:text (8 of 8)"}, ["no-grad:text (8 of 8)"], True),
        ({"contains": "quant-gap"}, ["no-grad:text (8 of 8)"], False),
        ({"contains": ">4.75"}, [4.8, 4.7], True),
        ({"contains": "grad"}, "no-grad:text", True),
        ({"contains": "float32"}, {"float32": 8}, True),
        ({"contains": "x"}, 3, False),
        ({"not": None}, 8, True),
        ({"not": {"in": [1, 2]}}, 2, False),
        ({"all": [">0", "<1"]}, 0.5, True),
        ({"all": [">0", "<1"]}, 1, False),
        ({"equals": {"float32": 8}}, {"float32": 8}, True),
        ({"equals": {"float32": 8}}, {"float32": 8, "bfloat16": 2}, False),
        # a list is exact
        ([4.8, 4.7], [4.8, 4.7], True),
        ([4.8], [4.8, 4.7], False),
        # a mapping is partial
        ({"float32": 8}, {"float32": 8, "bfloat16": 2}, True),
        ({"float32": 8, "bfloat16": None}, {"float32": 8, "bfloat16": 2}, False),
        ({"float32": 8}, {"bfloat16": 8}, False),
        ({"float32": 8}, None, False),
        ({"float32": 8}, MISSING, False),
    ],
)
def test_predicate_meaning(predicate: Any, value: Any, held: bool) -> None:
    assert predicates.problems(predicate) == []
    assert predicates.holds(predicate, value) is held


def test_partial_mappings_nest_and_dotted_keys_walk_down() -> None:
    checks = {
        "quant_gap": "<0.01",
        "groups": {"text": {"nonzero_grad": ">0", "trainable": 8}},
        "intent.checkpointing-active.passed": False,
        "intent.checkpointing-active": {"checkpoint_calls": "==0"},
        "listed.adapter-dtype.passed": True,  # a list element by its name
        "losses.0": ">4.75",  # by index
        "losses.-1": "<4.75",
        "reference_loss": None,
        "nothing.here": None,
    }
    results = predicates.judge(checks, RECORD["checks"], "checks")
    assert [r.describe() for r in results if not r.held] == [
        "checks.groups.text.nonzero_grad: expected >0, got 0",
    ]
    assert "checks.quant_gap <0.01" in [r.describe() for r in results if r.held]
    assert len(results) == 10


def test_messages_name_the_path_the_wanted_and_the_found_value() -> None:
    effective = {
        "use_reentrant": False,
        "checkpoint_api": "!=gradient_checkpointing_enable",
        "trainable_dtypes": {"bfloat16": ">0", "float32": None},
        "quantized_layers": {"in": [None, {}]},
        "missing_key": True,
        "prepare": {"contains": "kbit"},
    }
    failed = [r.describe() for r in predicates.judge(effective, RECORD["effective"], "effective") if not r.held]
    assert failed == [
        "effective.use_reentrant: expected false, got true",
        'effective.checkpoint_api: expected !=gradient_checkpointing_enable, got "gradient_checkpointing_enable"',
        "effective.trainable_dtypes.bfloat16: expected >0, got absent",
        "effective.trainable_dtypes.float32: expected null, got 8",
        'effective.quantized_layers: expected one of [null, {}], got {"Linear4bit": 14}',
        "effective.missing_key: expected true, got absent",
        'effective.prepare: expected containing "kbit", got absent',
    ]


@pytest.mark.parametrize(
    ("predicate", "problem"),
    [
        ({"quant_gap": "<small"}, "checks.quant_gap: '<small': < needs a number"),
        ({"quant_gap": ">="}, "checks.quant_gap: '>=': nothing to compare with"),
        ({"groups": {"text": {"nonzero_grad": {"in": 3}}}}, "checks.groups.text.nonzero_grad: 'in' takes a list"),
        ({"x": {"in": []}}, "checks.x: 'in' takes a non-empty list"),
        ({"x": {"all": [">0", "<=y"]}}, "checks.x.all[1]: '<=y': <= needs a number"),
        ({"x": {"not": {"contains": "<q"}}}, "checks.x.not.contains: '<q': < needs a number"),
        ({"a..b": 1}, "checks: 'a..b' is not a key or dotted path"),
        ({"x": float("nan")}, "checks.x: nan is not a finite number"),
    ],
)
def test_malformed_predicates_are_named(predicate: Any, problem: str) -> None:
    found = predicates.problems(predicate, "checks")
    assert any(p.startswith(problem) for p in found), found
    with pytest.raises(ValueError, match="predicates: value, null"):
        predicates.check(predicate, "checks")


@pytest.mark.parametrize(
    ("spec", "path", "predicate"),
    [
        ("effective.trainable_dtypes", "effective.trainable_dtypes", predicates.NO_PREDICATE),
        ("effective.trainable_dtypes.float32=null", "effective.trainable_dtypes.float32", None),
        ("effective.trainable_dtypes.float32=", "effective.trainable_dtypes.float32", None),
        ("checks.quant_gap<0.01", "checks.quant_gap", "<0.01"),
        ("checks.quant_gap <= 0.01", "checks.quant_gap", "<=0.01"),
        ("outcome!=passed", "outcome", "!=passed"),
        ("outcome==silent", "outcome", "==silent"),
        ("checks.intent.checkpointing-active.passed=false", "checks.intent.checkpointing-active.passed", False),
        ("effective.x={in: [a, b]}", "effective.x", {"in": ["a", "b"]}),
        ("checks.failed={contains: adapter-dtype}", "checks.failed", {"contains": "adapter-dtype"}),
    ],
)
def test_bisect_field_specs(spec: str, path: str, predicate: Any) -> None:
    assert predicates.parse_field(spec) == (path, predicate)


@pytest.mark.parametrize("spec", ["", "effective..x", "effective.", ".x", "checks.quant_gap<x", "effective.x={in: 3}"])
def test_malformed_bisect_field_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        predicates.parse_field(spec)


def _scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "predicates.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_a_bad_predicate_is_bad_input_at_its_line(tmp_path: Path) -> None:
    path = _scenario(
        tmp_path,
        """\
        id: bad-predicate
        description: a comparison without a number
        model: {family: llama}
        expect:
          - outcome: passed
            effective: {use_reentrant: false}
            checks:
              quant_gap: "<small"
        """,
    )
    done = harness("list", path)
    assert done.code == 2
    assert "Traceback" not in done.stderr
    assert f"{path}:8: expect.0.checks.quant_gap: '<small': < needs a number, e.g. '<0.01'" in done.stderr


def test_predicates_judge_a_real_run(tmp_path: Path) -> None:
    """One LoRA step on a tiny Llama: the expectation's predicates hold, a claim's fail with
    messages that name path, wanted and found."""
    path = _scenario(
        tmp_path,
        """\
        id: predicates-on-a-real-run
        description: LoRA on a tiny Llama, judged by predicates on effective and checks
        model: {family: llama}
        expect:
          - outcome: passed
            effective:
              checkpointing: false                      # a plain value: equality, as before
              trainable_dtypes: {float32: 8, bfloat16: null}
              model_class: {in: [LlamaForCausalLM, MistralForCausalLM]}
            checks:
              trainable_tensors: ">0"
              groups: {text: {nonzero_grad: "==8"}}
              failed: []
              losses.0: {all: [">0", "<100"]}
        claim:
          - source: https://example.org/a-wrong-page
            says: "adapters are trained in bf16 and nothing gets a gradient"
            outcome: passed
            effective: {trainable_dtypes: {bfloat16: ">0"}}
            checks: {groups.text.nonzero_grad: "==0", failed: {contains: no-grad}}
        """,
    )
    done = harness("run", path, out=tmp_path / "r.jsonl")
    assert done.code == 0, done.stdout + done.stderr
    (record,) = done.records
    assert record["outcome"] == "passed"
    assert record["expectation"]["verdict"] == "as_expected", record["expectation"]
    (claim,) = record["claims"]
    assert claim["verdict"] == "partly"  # the outcome held, the rest did not
    assert claim["held"] == ["outcome 'passed'"]
    assert claim["failed"] == [
        "effective.trainable_dtypes.bfloat16: expected >0, got absent",
        "checks.groups.text.nonzero_grad: expected ==0, got 8",
        'checks.failed: expected containing "no-grad", got []',
    ]
