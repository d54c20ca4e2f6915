"""MiSS (formerly Bone): a shard-shared matrix per target; r=2 divides every tiny projection."""

from harness.methods._base import Method

METHOD = Method(
    name="miss",
    config_class="MissConfig",
    fixed={"r": 2},
    non_identity={"init_weights": False},
)
