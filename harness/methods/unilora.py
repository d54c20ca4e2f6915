"""Uni-LoRA: one shared trainable vector projected into every target's update."""

from harness.methods._base import Method

METHOD = Method(
    name="unilora",
    config_class="UniLoraConfig",
    fixed={"theta_d_length": 257},
    non_identity={"init_weights": False},
)
