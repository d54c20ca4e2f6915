from harness.families._base import TINY_LAYOUT, TINY_VOCABULARY, encoder_classifier_family

FAMILY = encoder_classifier_family(
    "deberta-v2",
    "DebertaV2Config",
    "DebertaV2",
    # DeBERTa-v3's layout: disentangled relative attention (c2p and p2c, shared keys, log
    # buckets) and no absolute positions; the config's defaults would be a plain BERT.
    {
        **TINY_VOCABULARY,
        **TINY_LAYOUT,
        "relative_attention": True,
        "pos_att_type": ["p2c", "c2p"],
        "position_buckets": 16,
        "max_relative_positions": -1,
        "share_att_key": True,
        "norm_rel_ebd": "layer_norm",
        "position_biased_input": False,
    },
    attention=["query_proj", "value_proj"],
)
