"""Trainable tokens: a delta for chosen rows of the input embedding (peft's default target).

A row gets a gradient only when its token is in the batch; ids 3-63 are ordinary tokens of
every tiny vocabulary, so the seeded batch holds some of them."""

from harness.methods._base import Method

METHOD = Method(
    name="trainable_tokens",
    config_class="TrainableTokensConfig",
    targets=None,
    fixed={"token_indices": list(range(3, 64))},
    non_identity={"init_weights": False},
)
