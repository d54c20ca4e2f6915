"""`harness bisect`: what a step is judged by (`--on FIELD`) and the search over judged steps.

The search itself is a pure function of the steps' records, so it is tested here on records of
the shape `harness run` writes; tests/test_matrix_runs.py and tests/test_bisect_runs.py run the
real thing in uv environments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import FIXTURES, harness

from harness.errors import InputError
from harness.matrix.bisect import Judge, Step, bisect

VERSIONS = ["0.17.0", "0.17.1", "0.18.0", "0.18.1", "0.19.0", "0.19.1", "0.20.0"]


def record(outcome: str = "passed", signature: str | None = None, **sections: Any) -> dict[str, Any]:
    return {
        "id": "x",
        "outcome": outcome,
        "phase": "step",
        "signature": {"id": signature, "text": "..."} if signature else None,
        "error": None,
        "effective": {"checkpointing": False, **sections.get("effective", {})},
        "checks": {"failed": [], **sections.get("checks", {})},
    }


def adapter_dtype_records() -> dict[str, dict[str, Any]]:
    """Every release passes; the adapter dtype changes at 0.19.0 (peft #2889, silent)."""
    return {
        version: record(effective={"trainable_dtypes": {"float32": 8} if version < "0.19" else {"bfloat16": 8}})
        for version in VERSIONS
    }


def steps_from(records: dict[str, dict[str, Any] | None], tried: list[str]) -> Callable[[str], Step]:
    def try_version(version: str) -> Step:
        tried.append(version)
        found = records[version]
        return Step(version, found, "ok" if found else "install_error")

    return try_version


def test_outcome_and_signature_cannot_see_a_silent_change() -> None:
    with pytest.raises(InputError, match="behave the same by outcome and error signature"):
        bisect(VERSIONS, "0.20.0", steps_from(adapter_dtype_records(), []), lambda line: None)


@pytest.mark.parametrize(
    "spec",
    [
        "effective.trainable_dtypes",
        "effective.trainable_dtypes.float32=null",
        "effective.trainable_dtypes.bfloat16>0",
        "effective.trainable_dtypes={contains: bfloat16}",
    ],
)
def test_on_a_field_finds_where_its_value_changes(spec: str) -> None:
    tried: list[str] = []
    lines: list[str] = []
    judge = Judge.parse(spec)
    result = bisect(VERSIONS, "0.20.0", steps_from(adapter_dtype_records(), tried), lines.append, judge)
    assert (result.last_low_side, result.first_high_side) == ("0.18.1", "0.19.0")
    assert len(tried) == len(set(tried)) <= 5  # each version built once, fewer than all
    assert any("0.19.0: passed at step | effective.trainable_dtypes" in line for line in lines), lines


def test_the_good_endpoint_decides_and_a_third_behaviour_is_bad() -> None:
    """With the good endpoint old, anything unlike it is bad: the boundary is where it stops."""
    records = {v: record(checks={"quant_gap": 0.001}) for v in VERSIONS}
    records["0.18.1"] = record("failed", "abc123")  # a crash in between: not good
    records["0.19.0"] = record(checks={"quant_gap": 0.4})
    for version in ("0.19.1", "0.20.0"):
        records[version] = record(checks={"quant_gap": 0.3})
    result = bisect(
        VERSIONS, "0.17.0", steps_from(records, []), lambda line: None, Judge.parse("checks.quant_gap<0.01")
    )
    assert (result.last_low_side, result.first_high_side) == ("0.18.0", "0.18.1")


def test_unbuildable_steps_are_skipped() -> None:
    records: dict[str, dict[str, Any] | None] = dict(adapter_dtype_records())
    records["0.18.1"] = None
    records["0.19.0"] = record("import_error")
    tried: list[str] = []
    judge = Judge.parse("effective.trainable_dtypes")
    result = bisect(VERSIONS, "0.17.0", steps_from(records, tried), lambda line: None, judge)
    assert {"0.18.1", "0.19.0"} <= set(tried)
    assert (result.last_low_side, result.first_high_side) == ("0.18.0", "0.19.1")


def test_judged_values() -> None:
    silent = record("silent", effective={"use_reentrant": True}, checks={"failed": ["adapter-dtype"]})
    assert Judge.parse(None).value(silent) == ("silent", None)
    assert Judge.parse("outcome").value(silent) == "silent"
    assert Judge.parse("outcome!=passed").value(silent) is True
    assert Judge.parse("checks.failed").value(silent) == ["adapter-dtype"]
    assert Judge.parse("checks.failed={contains: adapter-dtype}").value(silent) is True
    assert Judge.parse("effective.use_reentrant=false").value(silent) is False
    assert Judge.parse("effective.trainable_dtypes.float32=null").value(silent) is True  # absent
    judged = Judge.parse("effective.use_reentrant=false").describe(silent)
    assert judged == "effective.use_reentrant=false: false (effective.use_reentrant = true)"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("effectiv.trainable_dtypes", "'effectiv' is not a field of a result record (valid: "),
        ("checks.quant_gap<small", "'<small': < needs a number"),
        ("effective..x", "expected a dotted record path"),
        ("effective.x={in: 3}", "'in' takes a list"),
    ],
)
def test_a_malformed_field_is_bad_input(spec: str, message: str) -> None:
    with pytest.raises(InputError, match="--on") as raised:
        Judge.parse(spec)
    assert message in str(raised.value)


def test_a_malformed_field_exits_two_before_anything_is_built(tmp_path: Any) -> None:
    done = harness(
        "bisect",
        "prepare-int8-unquantized",
        FIXTURES / "matrix" / "int8_prepare.yaml",
        "--package",
        "peft",
        "--good",
        "0.7.1",
        "--bad",
        "0.10.0",
        "--on",
        "effectiv.trainable_dtypes",
        "--workdir",
        tmp_path,
    )
    assert done.code == 2
    assert "did you mean 'effective'?" in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())  # no environment was built
