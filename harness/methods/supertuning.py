"""SuperTuning."""

from harness.methods._base import Method

METHOD = Method(
    name="supertuning",
    config_class="SupertuningConfig",
    fixed={"sparsity": 0.9},
    non_identity={"init_weights": False},
)
