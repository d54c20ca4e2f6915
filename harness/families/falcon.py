from harness.families._base import TINY_VOCABULARY, decoder_family

FAMILY = decoder_family(
    "falcon",
    "FalconConfig",
    "Falcon",
    # The defaults are Falcon-7B's layout: multi-query attention, parallel attention/MLP, rotary.
    {
        **TINY_VOCABULARY,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 64,
    },
    # Its projections are FalconLinear, an nn.Linear subclass that peft and bitsandbytes accept.
    attention=["query_key_value"],
    mlp=["dense_h_to_4h", "dense_4h_to_h"],
    explore_rank=9,
)
