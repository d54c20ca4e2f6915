from harness.families._base import TINY_LAYOUT, TINY_VOCABULARY, encoder_classifier_family

FAMILY = encoder_classifier_family(
    "bert", "BertConfig", "Bert", {**TINY_VOCABULARY, **TINY_LAYOUT}, attention=["query", "value"], explore_rank=10
)
