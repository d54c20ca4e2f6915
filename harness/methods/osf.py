"""OSF: orthogonal subspace fine-tuning."""

from harness.methods._base import Method

METHOD = Method(
    name="osf",
    config_class="OSFConfig",
    non_identity={"init_weights": False},
)
