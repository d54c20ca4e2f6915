from harness.families._base import TINY_LAYOUT, TINY_VOCABULARY, decoder_family

FAMILY = decoder_family(
    "gpt_neox",
    "GPTNeoXConfig",
    "GPTNeoX",
    {**TINY_VOCABULARY, **TINY_LAYOUT},
    # One fused query_key_value projection; `dense` is the attention output.
    attention=["query_key_value"],
    mlp=["dense_h_to_4h", "dense_4h_to_h"],
    explore_rank=6,
)
