"""RandLoRA: full-rank updates from shared random bases."""

from harness.methods._base import Method

METHOD = Method(
    name="randlora",
    config_class="RandLoraConfig",
    fixed={"r": 8, "randlora_alpha": 1},
    non_identity={"init_weights": False},
)
