"""SHiRA: a sparse high-rank adapter (a fixed mask of trainable weight entries)."""

from harness.methods._base import Method

METHOD = Method(
    name="shira",
    config_class="ShiraConfig",
    fixed={"r": 1},
    non_identity={"init_weights": False},
)
