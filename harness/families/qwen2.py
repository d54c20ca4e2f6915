from harness.families._base import TINY_DECODER, decoder_family

FAMILY = decoder_family(
    "qwen2",
    "Qwen2Config",
    "Qwen2",
    TINY_DECODER,
    attention=["q_proj", "v_proj"],
    mlp=["gate_proj", "up_proj", "down_proj"],
    explore_rank=2,
)
