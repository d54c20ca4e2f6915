from harness.families._base import TINY_LAYOUT, TINY_VOCABULARY, encoder_classifier_family

# DeBERTa v1 (DebertaConfig): its fused attention projection is `in_proj` (query, key and value
# in one), so the default targets are that one linear.
FAMILY = encoder_classifier_family(
    "deberta",
    "DebertaConfig",
    "Deberta",
    {**TINY_VOCABULARY, **TINY_LAYOUT},
    attention=["in_proj"],
    explore_rank=12,
)
