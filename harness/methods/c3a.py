"""C3A: circular convolution adapter; block_size must divide every target's in and out features (64, 32)."""

from harness.methods._base import Method

METHOD = Method(
    name="c3a",
    config_class="C3AConfig",
    fixed={"block_size": 16},
    non_identity={"init_weights": False},
)
