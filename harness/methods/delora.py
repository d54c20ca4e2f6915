"""DeLoRA: decoupled low-rank adaptation (bounded update norm)."""

from harness.methods._base import Method

METHOD = Method(
    name="delora",
    config_class="DeloraConfig",
    fixed={"r": 2},
    non_identity={"init_weights": False},
)
