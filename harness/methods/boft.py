"""BOFT: OFT with butterfly-factorised orthogonal blocks (block size 4 divides every tiny projection)."""

from harness.methods._base import Method

METHOD = Method(
    name="boft",
    config_class="BOFTConfig",
    non_identity={"init_weights": False},
)
