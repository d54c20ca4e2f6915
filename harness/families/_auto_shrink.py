"""A tiny config for any config class: every size field shrunk, every other field its default.

The config class is built with no arguments (its own defaults, sub-configs included), then each
size field is replaced, consistently across the config: widths, feed-forward widths, depth,
attention heads and key/value heads (grouped-query layouts stay grouped, multi-query stays
multi-query), head widths, experts, vocabulary, positions and image geometry, in every
sub-config (text, vision, audio, encoder, decoder). What is returned are keyword arguments for the
config class (sub-configs as dicts, with their model type), so the pipeline and a repro script
build the config by the same call. Nothing else is written: a behavioural default (activation,
norm, rope, tying, attention layout) stays the class's own.

The result is cached per config class (cheap to compute again, but a sweep builds hundreds);
weights are never cached: every variant builds its model from the config, seeded.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# leaf field name -> tiny value (or a rule applied below); one explicit list, so that a flag, an
# activation or an id is never shrunk by accident
WIDTH = re.compile(
    r"^(hidden_size|d_model|n_embd|n_embed|embed_dim|embedding_size|word_embed_proj_dim|projection_dim"
    r"|model_dim|d_embed|emb_dim|dim|text_hidden_size|vision_hidden_size|hidden_size_global)$"
)
FEEDFORWARD = re.compile(
    r"^(intermediate_size|d_ff|n_inner|ffn_dim|\w+_ffn_dim|ffn_hidden_size|hidden_dim|inner_dim"
    r"|shared_expert_intermediate_size|intermediate_size_mlp)$"
)
EXPERT_FEEDFORWARD = re.compile(r"^(moe_intermediate_size|expert_intermediate_size|moe_ffn_hidden_size)$")
LAYERS = re.compile(r"^(num_hidden_layers|n_layer|n_layers|num_layers|num_decoder_layers|\w+_layers|depth)$")
HEADS = re.compile(r"^(num_attention_heads|n_head|n_heads|num_heads|\w+_attention_heads)$")
# linear-attention layers of hybrid models (kimi_linear's KDA, qwen3-next's gated delta net): their own
# heads and head widths, whose pure-torch chunked scans cost per head and per width
LINEAR_HEADS = re.compile(r"^(linear_num_heads|linear_num_key_heads|linear_num_value_heads)$")
LINEAR_HEAD_DIM = re.compile(r"^(linear_key_head_dim|linear_value_head_dim)$")
# kimi_linear's one linear head width, which its output gate's g_b_proj also reads alone (its input
# width): kept at one 4-bit block (FOUR_BIT_BLOCK below)
GATE_READ_HEAD_DIM = re.compile(r"^(linear_head_dim)$")
KV_HEADS = re.compile(
    r"^(num_key_value_heads|num_kv_heads|n_kv_heads|multi_query_group_num|n_head_kv|\w+_num_key_value_heads)$"
)
HEAD_DIM = re.compile(r"^(head_dim|d_kv|kv_channels|attention_head_size|swa_head_dim)$")
# a rotary width within each head (codegen, gptj): at most the tiny head width
ROTARY_DIM = re.compile(r"^(rotary_dim|rotary_emb_dim|rope_dim)$")
EXPERTS = re.compile(r"^(num_experts|num_local_experts|n_routed_experts|moe_num_experts)$")
# (not bare top_k: transformers 4 configs carry it as a generation default, which save_pretrained then
# refuses in the generation config)
TOP_K = re.compile(r"^(num_experts_per_tok|moe_topk|num_selected_experts|moe_top_k|moe_k|num_experts_per_token)$")
# group-limited routing (deepseek v2/v3 style): experts split into groups, the best groups kept
EXPERT_GROUPS = re.compile(r"^(n_group|num_expert_group|moe_n_group|num_expert_groups)$")
TOP_GROUPS = re.compile(r"^(topk_group|topk_groups|moe_topk_group)$")
# a router that picks top-k over ``None`` experts is no model; checkpoints set it (DeepSeek-V2: 6)
TINY_TOP_K = 2
POSITIONS = re.compile(r"^(max_position_embeddings|n_positions|max_source_positions|max_target_positions|n_ctx)$")
# (hash-embedding tables too: BLT's encoder_hash_byte_group_vocab is 500002 rows per group)
VOCABULARY = re.compile(r"^(vocab_size|\w+_vocab)$")
# a vocabulary stored padded (Inkling2: the unembedding has ``unpadded_vocab_size`` rows, checkpoints
# pad it with zero rows up to ``vocab_size``, save_pretrained pads by the difference)
PADDED_VOCABULARY = ("vocab_size", "unpadded_vocab_size")
# state-space layers: the state width and the scan's chunk (pure-torch scans cost per chunk element)
SSM_STATE = re.compile(r"^(state_size|ssm_state_size|mamba_d_state|d_state|chunk_size|mamba_chunk_size)$")
TINY_SSM_STATE = 16
TOKEN_ID = re.compile(r"(_token_id|_token_index|_token_ids)$")
# bookkeeping of to_dict(), never passed back
BOOKKEEPING = {"transformers_version", "_name_or_path", "architectures", "_commit_hash", "_attn_implementation"}

TINY_WIDTH = 64
TINY_FEEDFORWARD = 128
# bitsandbytes quantizes 4-bit weights in blocks of 64 elements, and its AVX-512 CPU dequantize kernel
# (bitsandbytes 0.49.0 onwards) indexes those blocks per row: a linear whose input width is a multiple of 16
# but not of 64 gets wrong scales (relative error 0.2-0.4, vs 0.09). Real checkpoints' widths are
# multiples of 64; a tiny width that feeds a linear (an expert's down_proj, kimi_linear's g_b_proj)
# stays one too, so that the bnb-4bit case measures quantization, not that kernel
# (scenarios/architectures/bnb_4bit_cpu_dequantize_row_blocks.yaml shows the kernel's error).
FOUR_BIT_BLOCK = 64
TINY_EXPERT_FEEDFORWARD = FOUR_BIT_BLOCK
TINY_LAYERS = 2
TINY_HEADS = 4
TINY_EXPERTS = 4
TINY_POSITIONS = 64
TINY_VOCABULARY = 128
# A default id beyond this is not a token of a tiny vocabulary worth keeping: the vocabulary grows
# to hold every special id up to it (ids keep their default values), past it the build is refused.
LARGEST_KEPT_TOKEN_ID = 300_000


class CannotShrink(Exception):
    """The config cannot be made tiny by sizes alone (the reason says which field and why)."""


def is_sub_config(value: Any) -> bool:
    return hasattr(value, "to_dict") and hasattr(value, "model_type")


def special_ids(config: Any) -> set[int]:
    """Every token id a config (and its sub-configs) names: pad, bos, eos, image, audio, ..."""
    found: set[int] = set()
    for key, value in vars(config).items():
        if is_sub_config(value):
            found |= special_ids(value)
        elif TOKEN_ID.search(key):
            values = value if isinstance(value, (list, tuple)) else [value]
            found |= {v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0}
    return found


def _kv_heads(default_kv: int, default_heads: int | None, heads: int) -> int:
    """Grouped-query stays grouped, multi-query stays multi-query, full multi-head stays full."""
    if default_kv <= 1:
        return default_kv
    if default_heads is not None and default_kv >= default_heads:
        return heads
    return max(1, heads // 2)


def shrink_values(config: Any, vocabulary: int) -> dict[str, Any]:
    """The size fields of ``config`` (not of its sub-configs) with their tiny values."""
    values = {key: value for key, value in vars(config).items() if not key.startswith("_")}
    integers = {k: v for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool) and v > 0}
    default_heads = next((v for k, v in integers.items() if HEADS.match(k)), None)
    heads = min(default_heads or TINY_HEADS, TINY_HEADS)
    # multi-head latent attention ties head_dim to its rope width; long-context rope (longrope,
    # yarn with an original length) computes its factors from the lengths: both left as they are
    keeps_head_dim = "qk_rope_head_dim" in values
    keeps_positions = "original_max_position_embeddings" in values
    rules: list[tuple[re.Pattern[str], Any]] = [
        (WIDTH, lambda v: min(v, TINY_WIDTH)),
        (FEEDFORWARD, lambda v: min(v, TINY_FEEDFORWARD)),
        (EXPERT_FEEDFORWARD, lambda v: min(v, TINY_EXPERT_FEEDFORWARD)),
        (LAYERS, lambda v: min(v, TINY_LAYERS)),
        (HEADS, lambda v: min(v, TINY_HEADS)),
        (KV_HEADS, lambda v: _kv_heads(v, default_heads, heads)),
        (HEAD_DIM, lambda v: v if keeps_head_dim else min(v, TINY_WIDTH // heads)),
        (ROTARY_DIM, lambda v: min(v, TINY_WIDTH // heads)),
        (LINEAR_HEADS, lambda v: min(v, TINY_HEADS)),
        (LINEAR_HEAD_DIM, lambda v: min(v, TINY_WIDTH // heads)),
        (GATE_READ_HEAD_DIM, lambda v: min(v, FOUR_BIT_BLOCK)),
        (EXPERTS, lambda v: min(v, TINY_EXPERTS)),
        (POSITIONS, lambda v: v if keeps_positions else min(v, TINY_POSITIONS)),
        (SSM_STATE, lambda v: min(v, TINY_SSM_STATE)),
        (VOCABULARY, lambda v: min(v, vocabulary) if v >= TINY_VOCABULARY else v),
    ]
    out = _apply(rules, integers)
    out.update(_tied_sizes(integers, out))
    out.update(_padded_vocabulary(integers, out))
    out.update(_routing(values, integers, out))
    # per-layer overrides (transformers' heterogeneous configs) are a view; their dict form is serialized
    overrides = config.to_dict().get("per_layer_config") if hasattr(config, "per_layer_config") else None
    overrides = overrides if isinstance(overrides, dict) and overrides else {}
    out.update(_per_layer_lists(values, integers, out, overrides, rules))
    patch, image = integers.get("patch_size"), integers.get("image_size")
    if patch and image and image > 4 * patch:
        out["image_size"] = 4 * patch  # a 4x4 grid of patches
    return out


def _tied_sizes(integers: dict[str, int], out: dict[str, Any]) -> dict[str, Any]:
    """Sizes a config validates against each other, made consistent again after shrinking."""
    tied: dict[str, Any] = {}
    width_key = next((k for k in integers if WIDTH.match(k)), None)
    # Mamba-2 style heads: hidden_size * expand == num_heads * head_dim (and n_groups divides heads)
    if width_key and {"expand", "num_heads", "head_dim"} <= integers.keys() and "num_attention_heads" not in integers:
        heads = out.get("num_heads", integers["num_heads"])
        tied["head_dim"] = max(1, integers["expand"] * out.get(width_key, integers[width_key]) // heads)
        if "n_groups" in integers and heads % integers["n_groups"]:
            tied["n_groups"] = 1
    # a depth made of parts (input + recurrent + output layers): the total follows the tiny parts
    depth_key = next((k for k in ("num_hidden_layers", "num_layers", "n_layer") if k in integers), None)
    if depth_key:
        parts = [k for k in integers if k != depth_key and LAYERS.match(k) and k.startswith("n_")]
        if len(parts) > 1 and sum(integers[k] for k in parts) == integers[depth_key]:
            tied[depth_key] = sum(out.get(k, integers[k]) for k in parts)
    return tied


def _padded_vocabulary(integers: dict[str, int], out: dict[str, Any]) -> dict[str, Any]:
    """A padded vocabulary stays padded: the used rows are the tiny vocabulary (every special id
    inside), the padding keeps its default row count. (Shrinking ``vocab_size`` alone left it below
    ``unpadded_vocab_size``, and save_pretrained padded by a negative count.)"""
    padded, used = PADDED_VOCABULARY
    if not {padded, used} <= integers.keys() or integers[used] > integers[padded]:
        return {}
    tiny = out.get(padded, integers[padded])
    return {used: tiny, padded: tiny + integers[padded] - integers[used]}


def _routing(values: dict[str, Any], integers: dict[str, int], out: dict[str, Any]) -> dict[str, Any]:
    """Top-k and expert groups shrunk with the experts (top-k <= experts kept in the chosen groups)."""
    experts = next((out.get(k, v) for k, v in integers.items() if EXPERTS.match(k)), None)
    if experts is None:
        return {}
    routing: dict[str, Any] = {}
    groups = next(((k, v) for k, v in integers.items() if EXPERT_GROUPS.match(k)), None)
    candidates = experts
    if groups is not None and groups[1] > 1:
        tiny_groups = max(1, min(groups[1], experts // 2))  # at least two experts per group (top-2 in it)
        routing[groups[0]] = tiny_groups
        top_groups = next(((k, v) for k, v in integers.items() if TOP_GROUPS.match(k)), None)
        if top_groups is not None:
            routing[top_groups[0]] = min(top_groups[1], tiny_groups)
            candidates = routing[top_groups[0]] * (experts // tiny_groups)
    for key, value in values.items():
        if not TOP_K.match(key) or isinstance(value, bool):
            continue
        if value is None:
            routing[key] = min(TINY_TOP_K, candidates)
        elif isinstance(value, int) and value > candidates:
            routing[key] = candidates
    return routing


def _apply(rules: list[tuple[re.Pattern[str], Any]], integers: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in integers.items():
        rule = next((shrink for pattern, shrink in rules if pattern.match(key)), None)
        if rule is not None and rule(value) != value:
            out[key] = rule(value)
    return out


def _layer_index(key: Any) -> int | None:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    return int(key) if isinstance(key, str) and key.isdigit() else None


def _per_layer_lists(
    values: dict[str, Any],
    integers: dict[str, int],
    out: dict[str, Any],
    overrides: dict[Any, Any],
    rules: list[tuple[re.Pattern[str], Any]],
) -> dict[str, Any]:
    """Per-layer lists (layer_types, mlp_layer_types, ...) and per-layer overrides (per_layer_config:
    layer index -> fields) cut to the tiny depth, keeping one layer of each distinct kind (a hybrid
    model keeps its full-attention layer, a MoE its dense one); overridden sizes shrunk by the same rules."""
    depth_key = next((k for k in out if LAYERS.match(k) and k in integers), None)
    if depth_key is None:
        return {}
    depth = integers[depth_key]
    lists = {
        k: v
        for k, v in values.items()
        if isinstance(v, list) and len(v) == depth and all(isinstance(item, (str, int, bool)) for item in v)
    }
    by_layer = {_layer_index(k): v for k, v in overrides.items()}
    if None in by_layer or not all(0 <= i < depth for i in by_layer):  # type: ignore[operator]
        by_layer = {}
    if not lists and not by_layer:
        return {}
    kinds = [
        (*(items[i] for items in lists.values()), repr(sorted((by_layer.get(i) or {}).items()))) for i in range(depth)
    ]
    kept = sorted({kinds.index(kind) for kind in kinds})
    for index in range(depth):
        if len(kept) >= out[depth_key]:
            break
        if index not in kept:
            kept = sorted({*kept, index})
    found: dict[str, Any] = {depth_key: len(kept), **{k: [v[i] for i in kept] for k, v in lists.items()}}
    if by_layer:
        found["per_layer_config"] = {
            position: {**fields, **_apply(rules, {k: v for k, v in fields.items() if _is_size(v)})}
            for position, old in enumerate(kept)
            if isinstance(fields := by_layer.get(old), dict)
        }
    return found


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def tiny_kwargs(config: Any, vocabulary: int) -> dict[str, Any]:
    """Keyword arguments rebuilding ``config`` tiny: its size fields, and each sub-config as a dict."""
    kwargs = shrink_values(config, vocabulary)
    for key, value in vars(config).items():
        if key.startswith("_") or not is_sub_config(value):
            continue
        # the sub-config as the composite config made it (not its class's bare defaults), tiny
        tiny = tiny_kwargs(value, vocabulary)
        sub = {k: v for k, v in value.to_diff_dict().items() if k not in BOOKKEEPING}
        # per-layer lists (layer_types, ...) follow the depth: the class derives them again
        depths = {value_ for key_, value_ in vars(value).items() if LAYERS.match(key_) and isinstance(value_, int)}
        sub = {k: v for k, v in sub.items() if not (isinstance(v, list) and len(v) in depths and len(v) > TINY_LAYERS)}
        sub.update(tiny)
        sub["model_type"] = value.model_type
        kwargs[key] = sub
    return kwargs


def tiny_vocabulary(config: Any) -> int:
    ids = special_ids(config)
    largest = max(ids, default=0)
    if largest > LARGEST_KEPT_TOKEN_ID:
        raise CannotShrink(f"a special token id ({largest}) lies beyond any tiny vocabulary")
    return max(TINY_VOCABULARY, largest + 1)


@functools.cache
def tiny_config_kwargs(config_class_name: str) -> dict[str, Any]:
    """The keyword arguments of the tiny config of a transformers config class (cached)."""
    import transformers

    config_class = getattr(transformers, config_class_name)
    default = config_class()
    return tiny_kwargs(default, tiny_vocabulary(default))
