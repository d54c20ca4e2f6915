"""End to end on real tiny models: what a result record holds for each kind of outcome."""

from __future__ import annotations

import re

from conftest import Completed

from harness.record import SCHEMA


def test_run_exits_zero_when_every_result_matches(e2e_run: Completed) -> None:
    assert e2e_run.code == 0, e2e_run.stdout + e2e_run.stderr
    assert {r["expectation"]["verdict"] for r in e2e_run.records} == {"as_expected"}


def test_every_record_is_schema_versioned_and_self_describing(e2e_run: Completed) -> None:
    for record in e2e_run.records:
        assert record["schema"] == SCHEMA
        assert record["scenario"]["id"] == record["id"]
        assert record["scenario_id"] == "kinds"
        assert record["source"].endswith("kinds.yaml") and record["line"] >= 1
        assert record["env"]["torch"] and record["env"]["transformers"] and record["env"]["peft"]
        assert record["env"]["device"] == "cpu" and record["env"]["device_name"]
        # the lock: every installed distribution, so the environment can be rebuilt exactly
        assert record["env"]["lock"]["torch"] == record["env"]["torch"]
        assert {"transformers", "peft", "pydantic", "ft-harness"} <= set(record["env"]["lock"])
        assert record["duration_s"] > 0 and record["peak_rss_mb"] > 0
        assert set(record["timings"]) >= {"build"}


def test_passing_variant_records_gradients_and_what_took_effect(e2e_run: Completed) -> None:
    record = e2e_run.by_id()["kinds[passes]"]
    assert record["outcome"] == "passed" and record["phase"] == "step"
    assert record["error"] is None and record["signature"] is None
    checks = record["checks"]
    assert checks["trainable_tensors"] == 8  # LoRA A and B on q_proj and v_proj of 2 layers
    assert checks["groups"] == {"text": {"trainable": 8, "with_grad": 8, "nonzero_grad": 8}}
    assert checks["updated"] is True and checks["failed"] == []
    assert len(checks["losses"]) == 1 and 0 < checks["losses"][0] < 10
    assert record["effective"]["trainable_dtypes"] == {"float32": 8}
    assert record["effective"]["checkpointing"] is False
    assert set(record["timings"]) >= {"build", "attach", "forward", "backward", "step"}


def test_failed_variant_records_phase_error_and_normalized_signature(e2e_run: Completed) -> None:
    record = e2e_run.by_id()["kinds[bad-keyword]"]
    assert (record["outcome"], record["phase"]) == ("failed", "attach")
    error = record["error"]
    assert error["type"] == "TypeError" and "TypeError" in error["bases"]
    assert "no_such_option" in error["message"]
    assert error["traceback"] and error["traceback"][-1]["file"].endswith(".py")
    assert record["signature"]["text"] == (
        "attach | TypeError: LoraConfig.__init__() got an unexpected keyword argument 'no_such_option'"
    )
    assert re.fullmatch(r"[0-9a-f]{10}", record["signature"]["id"])


def test_silent_variant_names_the_sub_model_without_gradients(e2e_run: Completed) -> None:
    record = e2e_run.by_id()["kinds[silent-no-grad]"]
    assert record["outcome"] == "silent"
    assert record["checks"]["groups"]["text"] == {"trainable": 10, "with_grad": 2, "nonzero_grad": 2}
    assert record["checks"]["failed"][0] == "gradients (no-grad:text (8 of 10))"
    # the same step without checkpointing, in a twin process, gives those 8 tensors a gradient
    parity = record["checks"]["results"]["grad-parity"]
    assert parity["passed"] is False and parity["only_without_checkpointing"] == 8
    assert record["effective"]["use_reentrant"] is True
    assert record["effective"]["quantized_layers"]["Linear4bit"] > 0
    # each quantized linear was compared with the same weights unquantized, on its training input
    quant = record["checks"]["results"]["quant-error"]
    assert quant["passed"] is True and quant["layers"] == record["effective"]["quantized_layers"]["Linear4bit"]
    assert 0 < quant["worst_error"] < quant["bound"]
    assert any("None of the inputs have requires_grad=True" in w["message"] for w in record["warnings"])


def test_nan_gradients_are_silent_corruption(e2e_run: Completed) -> None:
    record = e2e_run.by_id()["kinds[nan-grads]"]
    assert record["outcome"] == "silent"
    assert any("nonfinite-grad" in check for check in record["checks"]["failed"])


def test_summary_groups_outcomes_by_signature(e2e_run: Completed) -> None:
    assert "Outcomes by error signature" in e2e_run.stdout
    assert "attach | TypeError: LoraConfig.__init__()" in e2e_run.stdout
    assert "4 variants" in e2e_run.stdout and "all as expected" in e2e_run.stdout
