"""HiRA: Hadamard high-rank adaptation."""

from harness.methods._base import Method

METHOD = Method(
    name="hira",
    config_class="HiraConfig",
    non_identity={"init_weights": False},
)
