from harness.families._base import TINY_VOCABULARY, decoder_family

FAMILY = decoder_family(
    "bloom",
    "BloomConfig",
    "Bloom",
    # BLOOM has ALiBi instead of position embeddings (no max positions) and a 4x MLP; its
    # defaults are already 64 wide and 2 layers deep.
    {**TINY_VOCABULARY, "hidden_size": 64, "n_layer": 2, "n_head": 4},
    # One fused query_key_value projection; `dense` is the attention output.
    attention=["query_key_value"],
    mlp=["dense_h_to_4h", "dense_4h_to_h"],
    explore_rank=8,
)
