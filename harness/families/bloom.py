from harness.families._base import decoder_family

FAMILY = decoder_family(
    "bloom",
    "BloomConfig",
    "Bloom",
    # BLOOM has ALiBi instead of position embeddings (no max positions) and a 4x MLP.
    {
        "vocab_size": 128,
        "hidden_size": 64,
        "n_layer": 2,
        "n_head": 4,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
    },
    # One fused query_key_value projection; `dense` is the attention output.
    attention=["query_key_value"],
    mlp=["dense_h_to_4h", "dense_4h_to_h"],
)
