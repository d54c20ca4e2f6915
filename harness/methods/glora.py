"""GLoRA: generalised LoRA (scales, shifts and low-rank terms on weight and bias)."""

from harness.methods._base import Method

METHOD = Method(
    name="glora",
    config_class="GloraConfig",
    non_identity={"init_weights": False},
)
