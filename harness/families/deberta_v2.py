from harness.families._base import TINY_LAYOUT, TINY_VOCABULARY, encoder_classifier_family

# DebertaV2Config's own defaults: absolute positions added to the word embeddings
# (position_biased_input) and no relative attention. DeBERTa-v3 checkpoints set the other layout
# (relative_attention, pos_att_type, position_buckets, share_att_key, norm_rel_ebd and
# position_biased_input: false); a scenario reaches it through model.config.
FAMILY = encoder_classifier_family(
    "deberta-v2",
    "DebertaV2Config",
    "DebertaV2",
    {**TINY_VOCABULARY, **TINY_LAYOUT},
    attention=["query_proj", "value_proj"],
    explore_rank=11,
)
