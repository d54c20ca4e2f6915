"""CPT: context-aware prompt tuning; the context tokens are ordinary ids of every tiny vocabulary."""

from harness.methods._base import Method

METHOD = Method(
    name="cpt",
    config_class="CPTConfig",
    targets=None,
    fixed={
        "cpt_token_ids": [3, 4, 5, 6, 7, 8, 9, 10],
        "cpt_mask": [1] * 8,
        "cpt_tokens_type_mask": [1, 2, 2, 2, 3, 3, 4, 4],
    },
)
