from harness.families import _inputs
from harness.families._base import TINY_VOCABULARY, Family, Task

FAMILY = Family(
    name="t5",
    config_class="T5Config",
    tiny={
        **TINY_VOCABULARY,
        "d_model": 64,
        "d_kv": 16,  # per-head width is its own setting in T5, not d_model / heads
        "d_ff": 128,
        "num_layers": 2,
        "num_heads": 4,
        "decoder_start_token_id": 0,
    },
    tasks={"seq2seq-lm": Task("T5ForConditionalGeneration", _inputs.seq2seq, "SEQ_2_SEQ_LM")},
    # T5 names its projections with single letters; wi/wo are the feed-forward in and out.
    targets={"attention": ["q", "v"], "mlp": ["wi", "wo"], "all": ["q", "v", "wi", "wo"]},
    feedforward=["wo"],
    deliberate={
        "decoder_start_token_id": (
            "T5Config leaves it unset, yet every T5 checkpoint sets 0 (its pad id) and labels cannot be"
            " shifted into decoder inputs without it (ValueError: it 'has to be defined')"
        ),
    },
    explore_rank=13,
)
