"""The auto family: a tiny model of any architecture, on the real stack.

A handful of architectures of different layouts (decoder, grouped-query, mixture of experts,
encoder-decoder, state-space, vision-language) stand for the few hundred the sweep covers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, harness
from test_family_defaults import flatten, is_size

from harness.dsl.schema import ModelSpec
from harness.families import FAMILIES, _auto_arch
from harness.families._auto_shrink import (
    EXPERT_FEEDFORWARD,
    EXPERTS,
    FEEDFORWARD,
    FOUR_BIT_BLOCK,
    HEAD_DIM,
    KV_HEADS,
    LAYERS,
    PADDED_VOCABULARY,
    SSM_STATE,
    TOP_K,
    WIDTH,
)

transformers = pytest.importorskip("transformers")

SAMPLE = ["llama", "qwen3_moe", "gpt2", "gemma3", "mamba", "inkling2_text"]
PER_LAYER = {"layer_types"}
# sizes a config class derives from the width itself (Mamba: ceil(hidden_size / 16))
DERIVED = {"time_step_rank"}
IGNORED = {"transformers_version", "_name_or_path", "architectures", "dtype", "torch_dtype"}


def auto_size(path: str) -> bool:
    """test_family_defaults' notion of size, plus what only the auto shrinker touches (experts, the
    head widths and key/value heads of sliding-window layers, a padded vocabulary)."""
    leaf = path.rsplit(".", 1)[-1]
    return (
        is_size(path)
        or any(
            p.match(leaf)
            for p in (WIDTH, FEEDFORWARD, EXPERT_FEEDFORWARD, LAYERS, EXPERTS, TOP_K, SSM_STATE, HEAD_DIM, KV_HEADS)
        )
        or leaf in DERIVED
        or leaf in PADDED_VOCABULARY
    )


def require_architecture(architecture: str) -> None:
    if architecture not in _auto_arch.config_classes():
        pytest.skip(f"transformers {transformers.__version__} has no {architecture}")


@pytest.mark.parametrize("architecture", SAMPLE)
def test_tiny_config_changes_sizes_only(architecture: str) -> None:
    require_architecture(architecture)
    family = FAMILIES["auto"]
    tiny = family.config(ModelSpec(family="auto", architecture=architecture))
    default = type(tiny)()
    mine, theirs = flatten(tiny.to_dict()), flatten(default.to_dict())
    changed = [
        f"{path}: {mine.get(path)!r} (default {theirs.get(path)!r})"
        for path in sorted(set(mine) | set(theirs))
        if path.rsplit(".", 1)[-1] not in IGNORED | PER_LAYER
        and mine.get(path) != theirs.get(path)
        and not auto_size(path)
    ]
    assert not changed, f"{architecture}: behavioural fields changed:\n" + "\n".join(changed)
    sizes = [p for p in mine if auto_size(p) and mine[p] != theirs.get(p)]
    assert sizes, f"{architecture}: nothing was shrunk"


def test_a_padded_vocabulary_stays_padded() -> None:
    """Inkling2 stores its unembedding padded from unpadded_vocab_size to vocab_size rows; shrinking
    vocab_size alone made the padding negative and save_pretrained failed (negative dimension)."""
    require_architecture("inkling2_text")
    config = FAMILIES["auto"].config(ModelSpec(family="auto", architecture="inkling2_text"))
    default = type(config)()
    assert config.unpadded_vocab_size < default.unpadded_vocab_size
    assert config.unpadded_vocab_size > default.eos_token_id  # every special id still has a logit
    assert config.vocab_size - config.unpadded_vocab_size == default.vocab_size - default.unpadded_vocab_size


@pytest.mark.parametrize(
    ("architecture", "field"),
    [
        ("qwen3_moe", "moe_intermediate_size"),
        ("solar_open", "moe_intermediate_size"),
        ("kimi_linear", "linear_head_dim"),
    ],
)
def test_widths_that_feed_a_linear_keep_whole_4bit_blocks(architecture: str, field: str) -> None:
    """An expert's down_proj and kimi_linear's g_b_proj read these widths: below 64 (bnb's 4-bit block)
    bitsandbytes' AVX-512 CPU kernel dequantizes them with the wrong scales."""
    if (
        getattr(transformers, FAMILIES["auto"].names(ModelSpec(family="auto", architecture=architecture))[1], None)
        is None
    ):
        pytest.skip(f"{architecture} is not in this transformers")
    config = FAMILIES["auto"].config(ModelSpec(family="auto", architecture=architecture))
    assert getattr(config, field) % FOUR_BIT_BLOCK == 0


def test_heads_stay_consistent_grouped_query_stays_grouped() -> None:
    config = FAMILIES["auto"].config(ModelSpec(family="auto", architecture="llama"))
    assert config.hidden_size % config.num_attention_heads == 0
    assert config.num_key_value_heads == config.num_attention_heads  # Llama's default is full multi-head
    mistral = FAMILIES["auto"].config(ModelSpec(family="auto", architecture="mistral"))
    assert mistral.num_key_value_heads < mistral.num_attention_heads  # Mistral's default is grouped-query


@pytest.mark.parametrize(
    ("architecture", "task", "attention"),
    [
        ("llama", "causal-lm", ["q_proj", "v_proj"]),
        ("gpt2", "causal-lm", ["c_attn"]),
        ("t5", "seq2seq-lm", ["q", "v"]),
        ("bert", "seq-cls", ["query", "value"]),
    ],
)
def test_targets_are_the_models_own_attention_projections(architecture: str, task: str, attention: list[str]) -> None:
    family = FAMILIES["auto"]
    assert (
        family.target_modules(ModelSpec(family="auto", architecture=architecture, task=task), "attention") == attention
    )


def test_a_text_only_batch_leaves_the_vision_tower_out_of_the_targets() -> None:
    targets = FAMILIES["auto"].target_modules(ModelSpec(family="auto", architecture="gemma3"), "attention")
    assert isinstance(targets, str)
    import re

    assert re.fullmatch(targets, "model.language_model.layers.0.self_attn.q_proj")
    assert not re.fullmatch(targets, "model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj")


def test_unknown_architecture_is_bad_input_with_a_suggestion_and_no_torch(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("id: bad\ndescription: x\nmodel: {family: auto, architecture: lama}\n")
    done = harness("list", scenario)
    assert done.code == 2, done.stdout + done.stderr
    assert "did you mean 'llama'" in done.stdout + done.stderr
    probe = "import sys; from harness.dsl.schema import ModelSpec; ModelSpec(family='auto', architecture='t5', task='seq2seq-lm'); print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT).stdout.strip()
        == "False"
    )


def test_an_architecture_newer_than_the_stack_is_skipped_where_the_scenario_requires_it(tmp_path: Path) -> None:
    """A catalog scenario for an architecture newer than some matrix cells says `requires:`; on a
    stack without it the variant is recorded skipped, as expected, instead of failing the whole load."""
    newer = tmp_path / "newer.yaml"
    newer.write_text(
        "id: newer\ndescription: x\nrequires: {transformers: '>=99'}\n"
        "model: {family: auto, architecture: an_architecture_from_the_future}\n"
        "expect: {outcome: silent, check: quantized}\n"
    )
    done = harness("run", newer, out=tmp_path / "out.jsonl")
    assert done.code == 0, done.stdout + done.stderr
    record = done.by_id()["newer"]
    assert record["outcome"] == "skipped"
    assert record["reason"] == f"requires transformers>=99 (installed: {transformers.__version__})"
    assert record["expectation"]["verdict"] == "as_expected"
    without = tmp_path / "without.yaml"
    without.write_text(
        "id: without\ndescription: x\nmodel: {family: auto, architecture: an_architecture_from_the_future}\n"
    )
    refused = harness("list", without)
    assert refused.code == 2 and "says so with `requires:" in refused.stdout + refused.stderr
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("id: malformed\ndescription: x\nrequires: {transformers: '=>5'}\nmodel: {family: llama}\n")
    bad = harness("list", malformed)
    assert bad.code == 2 and "malformed.yaml" in bad.stdout + bad.stderr
    assert "invalid version specifier '=>5'" in bad.stdout + bad.stderr


def test_runs_pass_and_an_unbuildable_config_is_skipped_with_its_reason(tmp_path: Path) -> None:
    scenario = tmp_path / "auto.yaml"
    scenario.write_text(
        "id: auto\ndescription: x\nmodel: {family: auto, architecture: llama}\n"
        "checkpointing: {enabled: true, use_reentrant: false}\n"
        "cases:\n"
        "  llama: {}\n"
        "  t5: {model.architecture: t5, model.task: seq2seq-lm}\n"
        "  mamba: {model.architecture: mamba}\n"
        "  refused: {model.config: {hidden_size: -1}}\n"
        "expect:\n  - when: {case: refused}\n    outcome: skipped\n  - outcome: passed\n"
    )
    done = harness("run", scenario, "-j", "2", out=tmp_path / "out.jsonl")
    records = done.by_id()
    assert done.code == 0, done.stdout + done.stderr
    assert records["auto[refused]"]["phase"] == "build"
    assert "LlamaConfig refuses the tiny sizes" in records["auto[refused]"]["reason"]
    assert records["auto[llama]"]["effective"]["auto_targets"]["attention"] == ["q_proj", "v_proj"]
    assert records["auto[mamba]"]["effective"]["auto_targets"]["role"].startswith("no attention projections")
