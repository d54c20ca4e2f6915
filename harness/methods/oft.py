"""OFT: orthogonal fine-tuning, block-diagonal rotations of each target's weight."""

from harness.methods._base import Method

METHOD = Method(
    name="oft",
    config_class="OFTConfig",
    non_identity={"init_weights": False},
)
