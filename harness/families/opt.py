from harness.families._base import TINY_VOCABULARY, decoder_family

FAMILY = decoder_family(
    "opt",
    "OPTConfig",
    "OPT",
    {
        **TINY_VOCABULARY,
        "hidden_size": 64,
        "ffn_dim": 128,
        # The embeddings' width, projected in and out when it differs from hidden_size: it
        # equals hidden_size by default (768), as in every OPT but the 350m one.
        "word_embed_proj_dim": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 64,
    },
    attention=["q_proj", "v_proj"],
    mlp=["fc1", "fc2"],
    # OPT's layers live under `model.decoder.`; the default patterns would file the whole
    # decoder-only model under an encoder-decoder's "decoder" group.
    groups=(),
    explore_rank=7,
)
