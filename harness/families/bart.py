from harness.families import _inputs
from harness.families._base import TINY_VOCABULARY, Family, Task

ATTENTION = ["q_proj", "v_proj"]
MLP = ["fc1", "fc2"]

FAMILY = Family(
    name="bart",
    config_class="BartConfig",
    tiny={
        **TINY_VOCABULARY,
        "d_model": 64,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        "encoder_ffn_dim": 128,
        "decoder_ffn_dim": 128,
        "max_position_embeddings": 64,
    },
    tasks={"seq2seq-lm": Task("BartForConditionalGeneration", _inputs.seq2seq, "SEQ_2_SEQ_LM")},
    targets={"attention": ATTENTION, "mlp": MLP, "all": [*ATTENTION, *MLP]},
    feedforward=["fc2"],
    explore_rank=14,
)
