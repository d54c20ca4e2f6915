"""Silent failures found by the harness itself: intent checks, oracles, and no observer effect.

Every scenario here describes only a setup (no `effective:`, no `checks:` answers): the harness
must find what went wrong on its own, on the real stack.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
from conftest import ROOT, Completed, harness
from packaging.version import Version

TRANSFORMERS_5 = Version(metadata.version("transformers")).release >= (5,)

SETUP_ONLY = {
    # prepare_model_for_kbit_training(model) with its defaults on a 4-bit model
    "kbit-defaults.yaml": """\
id: kbit-defaults
description: prepare_model_for_kbit_training with its default arguments on a 4-bit model
model: {family: llama}
quantization: {backend: bnb-4bit, prepare: prepare_model_for_kbit_training}
checkpointing: {enabled: true, via: kbit-prepare}
""",
    # prepare_model_for_kbit_training(model, use_gradient_checkpointing=True) on a bf16 model that is not quantized
    "kbit-prepare-unquantized.yaml": """\
id: kbit-prepare-unquantized
description: prepare_model_for_kbit_training on a bf16 model that is not quantized
model: {family: llama}
quantization: {prepare: prepare_model_for_kbit_training}
checkpointing: {enabled: true, via: kbit-prepare}
precision: {dtype: bf16}
""",
    # the checkpointed recompute draws other dropout masks than the forward did
    "rng-not-preserved.yaml": """\
id: rng
description: non-reentrant checkpointing of a model with dropout, with and without the RNG state kept
model: {family: gpt2}
checkpointing: {enabled: true, use_reentrant: false}
cases:
  preserved: {}
  not-preserved: {checkpointing.kwargs: {preserve_rng_state: false}}
""",
    "quant-bound.yaml": """\
id: quant-bound
description: 4-bit layers against their unquantized weights, with the calibrated bound and a far too tight one
model: {family: llama}
quantization: {backend: bnb-4bit}
cases:
  calibrated: {}
  too-tight: {checks.quant_error: 0.001}
""",
    "bnb-skip.yaml": """\
id: bnb-skip
description: a BitsAndBytesConfig keyword that leaves two attention projections in float
model: {family: llama}
quantization: {backend: bnb-4bit, config: {llm_int8_skip_modules: [q_proj, v_proj]}}
""",
}


@pytest.fixture(scope="module")
def setup_only_run(tmp_path_factory: pytest.TempPathFactory) -> Completed:
    folder = tmp_path_factory.mktemp("setup-only")
    for name, text in SETUP_ONLY.items():
        (folder / name).write_text(text)
    return harness("run", folder, "-j", "2", out=folder / "results.jsonl")


def failed_checks(record: dict) -> set[str]:
    return {name for name, result in record["checks"]["results"].items() if result["passed"] is False}


def test_default_kbit_prepare_silently_runs_reentrant_checkpointing(setup_only_run: Completed) -> None:
    record = setup_only_run.by_id()["kbit-defaults"]
    impl = record["checks"]["results"]["checkpoint-impl"]
    assert record["effective"]["use_reentrant"] is True  # peft passes {} and torch's default wins
    if TRANSFORMERS_5:  # transformers 5's own default is non-reentrant: silently overridden
        assert record["outcome"] == "silent" and failed_checks(record) == {"checkpoint-impl"}
        assert impl["expected"] == "non-reentrant" and impl["ran"] == "reentrant"
        assert "checkpoint-impl (non-reentrant transformers" in record["reason"]
    else:  # transformers 4's default is reentrant: nothing overridden
        assert impl["passed"] is True


def test_kbit_prepare_on_an_unquantized_model_enables_nothing_and_upcasts(setup_only_run: Completed) -> None:
    record = setup_only_run.by_id()["kbit-prepare-unquantized"]
    assert record["outcome"] == "silent"
    assert failed_checks(record) == {"checkpointing-active", "base-dtype"}
    active = record["checks"]["results"]["checkpointing-active"]
    assert active["checkpoint_calls"] == 0 and active["is_gradient_checkpointing"] is False
    upcast = record["checks"]["results"]["base-dtype"]
    assert upcast["bytes_at_training"] == 2 * upcast["bytes_at_load"]  # every bf16 weight now fp32
    assert "bfloat16->float32" in upcast["detail"]


def test_grad_parity_compares_with_a_checkpointing_off_twin(setup_only_run: Completed) -> None:
    by_id = setup_only_run.by_id()
    kept = by_id["rng[preserved]"]["checks"]["results"]["grad-parity"]
    assert by_id["rng[preserved]"]["outcome"] == "passed"
    assert kept["passed"] is True and kept["compared"] > 0 and kept["worst_difference"] < 1e-4
    lost = by_id["rng[not-preserved]"]
    assert lost["outcome"] == "silent" and failed_checks(lost) == {"grad-parity"}
    assert lost["checks"]["results"]["grad-parity"]["worst_difference"] > 0.1


def test_quantized_layers_are_compared_with_their_unquantized_weights(setup_only_run: Completed) -> None:
    by_id = setup_only_run.by_id()
    calibrated = by_id["quant-bound[calibrated]"]["checks"]["results"]["quant-error"]
    assert by_id["quant-bound[calibrated]"]["outcome"] == "passed"
    assert calibrated["passed"] is True and calibrated["layers"] == 14 and 0.01 < calibrated["worst_error"] < 0.3
    tight = by_id["quant-bound[too-tight]"]
    assert tight["outcome"] == "silent" and failed_checks(tight) == {"quant-error"}
    assert tight["checks"]["results"]["quant-error"]["bound"] == 0.001


def test_layers_left_unquantized_are_named(setup_only_run: Completed) -> None:
    record = setup_only_run.by_id()["bnb-skip"]
    assert record["outcome"] == "silent" and failed_checks(record) == {"quantized"}
    result = record["checks"]["results"]["quantized"]
    assert result["expected"] == 14 and result["quantized"] == 10  # q_proj and v_proj of 2 layers skipped
    assert "model.layers.0.self_attn.q_proj" in result["detail"]


def test_every_check_is_listed_with_its_verdict(setup_only_run: Completed) -> None:
    record = setup_only_run.by_id()["quant-bound[calibrated]"]
    assert set(record["checks"]["results"]) >= {
        "gradients",
        "finite",
        "update",
        "base-dtype",
        "adapter-dtype",
        "quantized",
        "adapter-targets",
        "quant-error",
    }
    assert all(isinstance(r["passed"], bool) and r["detail"] for r in record["checks"]["results"].values())


# -- no observer effect -------------------------------------------------------------------------

DORA_8BIT = """\
id: dora-8bit
description: DoRA on an 8-bit layer fails on the layer's second forward
model: {family: llama}
peft: {method: dora}
quantization: {backend: bnb-8bit}
steps: {train_steps: 2}
cases:
  plain: {}
  checkpointing: {checkpointing.enabled: true}
"""


def test_dora_on_8bit_fails_where_plain_code_fails_with_checks_on_and_off(tmp_path: Path) -> None:
    (tmp_path / "dora.yaml").write_text(DORA_8BIT)
    runs = {
        checks: harness("run", tmp_path / "dora.yaml", "--checks", checks, out=tmp_path / f"{checks}.jsonl").by_id()
        for checks in ("on", "off")
    }
    for by_id in runs.values():
        # the first forward works, the second call of the layer fails: in step 2 without
        # checkpointing, in step 1's backward (the recompute) with it
        assert (by_id["dora-8bit[plain]"]["phase"], by_id["dora-8bit[plain]"]["at"]) == (
            "forward",
            {"step": 2, "forward": 2},
        )
        assert (by_id["dora-8bit[checkpointing]"]["phase"], by_id["dora-8bit[checkpointing]"]["at"]) == (
            "backward",
            {"step": 1, "forward": 1},
        )
        assert {r["outcome"] for r in by_id.values()} == {"failed"}


def observable(record: dict) -> tuple:
    """What the model went through: a silent verdict is ours, the rest is the user's code."""
    outcome = "passed" if record["outcome"] == "silent" else record["outcome"]
    signature = (record.get("signature") or {}).get("id") if outcome != "passed" else None
    return outcome, record["phase"], record.get("at"), signature


@pytest.mark.slow
def test_checks_change_nothing_the_model_goes_through_across_the_catalog(tmp_path: Path) -> None:
    on = harness("run", ROOT / "scenarios", "-j", "2", "--checks", "on", out=tmp_path / "on.jsonl").by_id()
    off = harness("run", ROOT / "scenarios", "-j", "2", "--checks", "off", out=tmp_path / "off.jsonl").by_id()
    differ = {
        vid: (observable(on[vid]), observable(off[vid]))
        for vid in set(on) & set(off)
        if observable(on[vid]) != observable(off[vid])
    }
    assert differ == {}
    assert set(on) == set(off) and len(on) > 150
    # with everything off nothing can be silent, and every check was really off
    assert not any(r["outcome"] == "silent" for r in off.values())
    assert not any(r["checks"].get("results") for r in off.values())
    assert sum(r["outcome"] == "silent" for r in on.values()) >= 10
