"""GraLoRA: granular (block-wise) LoRA; gralora_k must divide every target's features."""

from harness.methods._base import Method

METHOD = Method(
    name="gralora",
    config_class="GraloraConfig",
    fixed={"r": 8, "alpha": 16, "gralora_k": 2, "hybrid_r": 0},
    non_identity={"init_weights": False},
)
