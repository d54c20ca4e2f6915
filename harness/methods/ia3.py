"""IA3 scales activations; its feedforward modules must be among its targets."""

from harness.methods._base import Method

METHOD = Method(
    name="ia3",
    config_class="IA3Config",
    targets="all",
    needs_feedforward=True,
    non_identity={"init_ia3_weights": False},
)
