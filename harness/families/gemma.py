from harness.families._base import TINY_DECODER, decoder_family

FAMILY = decoder_family(
    "gemma",
    "GemmaConfig",
    "Gemma",
    # Gemma's head_dim is a config value (256 by default), not hidden_size / heads: without
    # an explicit one the tiny model's attention would be 16 times wider than its hidden size.
    {**TINY_DECODER, "head_dim": 16},
    attention=["q_proj", "v_proj"],
    mlp=["gate_proj", "up_proj", "down_proj"],
    explore_rank=3,
)
