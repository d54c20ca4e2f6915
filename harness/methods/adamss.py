"""AdaMSS: adaptive multi-subspace adaptation (clusters each weight's subspaces with scikit-learn)."""

from harness.methods._base import Method

METHOD = Method(
    name="adamss",
    config_class="AdamssConfig",
    fixed={"r": 8},
    non_identity={"init_weights": False},
)
