"""Tiny configs shrink sizes only: every other field keeps the config class's default.

A behavioural setting in a tiny config hides what the real architecture does (the deberta-v2
family once used DeBERTa-v3's layout, and DeBERTa's in-place bug on transformers < 4.49 passed
there). Each family's tiny config is built through the family on the installed transformers and
compared, field by field, with the config class built with no arguments; a field that differs must
be a size or be listed, with its reason, in the family's `deliberate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from harness.dsl.schema import ModelSpec
from harness.families import FAMILIES
from harness.families._base import LAYER_KEYS, Family

# What "size" means, in the field names of the config classes: widths (hidden, intermediate,
# feed-forward, embedding and projection sizes, head_dim), depths (layers, depth), head counts
# (attention and key/value heads), the vocabulary, positions (max positions, source/target
# lengths) and the image geometry that sets how many patches a vision tower sees. One explicit
# list, so a new behavioural field (a flag, a layout, an activation, an id) is never a size by
# accident; a size field that is missing here shows up as a failure naming it.
SIZE_FIELDS = re.compile(
    r"""^(
        vocab_size
      | hidden_size | intermediate_size | pooler_hidden_size | embed_dim | projection_dim
      | d_model | d_ff | d_kv | n_embd | n_inner | ffn_dim | \w+_ffn_dim | ffn_hidden_size
      | word_embed_proj_dim | head_dim
      | num_hidden_layers | n_layer | num_layers | num_decoder_layers | \w+_layers | depth
      | num_attention_heads | n_head | num_heads | \w+_attention_heads | num_key_value_heads | num_kv_heads
      | max_position_embeddings | n_positions | max_source_positions | max_target_positions
      | image_size | patch_size | image_seq_length
    )$""",
    re.VERBOSE,
)
# Lists with one entry per layer: their length follows the depth, so their distinct values are compared.
PER_LAYER_FIELDS = {"layer_types"}
# Bookkeeping, not behaviour.
IGNORED_FIELDS = {"transformers_version", "_name_or_path"}
# transformers 5 renamed these (and keeps reading the old keyword): a deliberate key under its
# old name covers the new field.
RENAMED_FIELDS = {"rope_parameters": "rope_scaling"}


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted paths into sub-configs (vision_config.patch_size); other values as they are."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key.endswith("_config") and isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def is_size(path: str) -> bool:
    return bool(SIZE_FIELDS.match(leaf(path)))


def deliberate_key(family: Family, path: str) -> str | None:
    """The deliberate entry covering a config field: the same dotted key, or, for a key the family
    sets at the top level, the same name wherever the installed transformers puts it (transformers
    5 moves a vision-language model's text keys into text_config)."""
    name = RENAMED_FIELDS.get(leaf(path), leaf(path))
    for key in family.deliberate:
        if key == path or ("." not in key and key == name) or ("." in key and key == path.replace(leaf(path), name)):
            return key
    return None


def differences(family: Family) -> dict[str, tuple[Any, Any]]:
    """Non-size fields whose tiny value differs from the config class's default: path -> (tiny, default)."""
    tiny = family.config(ModelSpec(family=family.name))
    default = type(tiny)()
    tiny_values, default_values = flatten(tiny.to_dict()), flatten(default.to_dict())
    found = {}
    for path in sorted(set(tiny_values) | set(default_values)):
        if leaf(path) in IGNORED_FIELDS or is_size(path):
            continue
        mine, theirs = tiny_values.get(path, "<absent>"), default_values.get(path, "<absent>")
        if leaf(path) in PER_LAYER_FIELDS and isinstance(mine, list) and isinstance(theirs, list):
            mine, theirs = sorted(set(mine)), sorted(set(theirs))
        if mine != theirs:
            found[path] = (mine, theirs)
    return found


# auto shrinks any config class by rule; tests/test_auto_family.py holds it to the same notion of size
@pytest.fixture(scope="module", params=[name for name in FAMILIES.names() if name != "auto"])
def family(request: pytest.FixtureRequest) -> Family:
    pytest.importorskip("transformers")
    return FAMILIES[request.param]


def test_every_non_size_field_keeps_the_config_class_default(family: Family) -> None:
    unlisted = [
        f"{family.name}: {path} is {mine!r} in the tiny config, {theirs!r} by default"
        for path, (mine, theirs) in differences(family).items()
        if deliberate_key(family, path) is None
    ]
    assert not unlisted, "behavioural fields differ from the config class's defaults:\n" + "\n".join(unlisted)


def test_the_tiny_mapping_sets_only_sizes_and_deliberate_keys(family: Family) -> None:
    """Even a value equal to today's default must not be written down: a later default would be masked."""
    extra = [
        f"{family.name}: tiny sets {path}={value!r}, neither a size nor listed as deliberate"
        for path, value in flatten(family.tiny).items()
        if not is_size(path) and path not in family.deliberate and leaf(path) not in family.deliberate
    ]
    assert not extra, "\n".join(extra)


def test_every_deliberate_difference_is_real_and_explained(family: Family) -> None:
    """A stale entry (the key is gone, or now equals the default) would excuse a future change unseen."""
    tiny_keys = set(flatten(family.tiny))
    covered = {deliberate_key(family, path) for path in differences(family)}
    stale = [
        f"{family.name}: deliberate '{key}' ({why!r}) "
        + ("is not set by the tiny config" if key not in tiny_keys else "does not differ from the default")
        for key, why in family.deliberate.items()
        if key not in tiny_keys or key not in covered
    ]
    assert not stale, "\n".join(stale)
    assert all(why.strip() for why in family.deliberate.values())


def test_depth_sets_every_stack_of_the_tiny_model(family: Family) -> None:
    override = family.depth(1)
    assert override, f"{family.name}: no layer key in its tiny config"
    config = family.config(ModelSpec(family=family.name, config=override))
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    depths = {key: getattr(text, key) for key in LAYER_KEYS if isinstance(getattr(text, key, None), int)}
    assert depths, f"{family.name}: no layer count on {type(text).__name__}"
    assert set(depths.values()) == {1}, f"{family.name}: depth(1) gave {depths}"


def test_explore_ranks_order_every_family_once() -> None:
    ranks = {name: FAMILIES[name].explore_rank for name in FAMILIES.names()}
    assert len(set(ranks.values())) == len(ranks), f"two families share a rank: {ranks}"
    assert min(ranks, key=ranks.__getitem__) == "llama"


def test_deberta_families_keep_absolute_positions_in_the_embeddings() -> None:
    """The layout whose in-place add failed before transformers 4.49 (PR 35898) is the default one."""
    pytest.importorskip("transformers")
    for name in ("deberta", "deberta-v2"):
        config = FAMILIES[name].config(ModelSpec(family=name, task="seq-cls"))
        assert config.position_biased_input is True
        assert config.relative_attention is False
