"""WaveFT: trains a few wavelet coefficients of each weight's update."""

from harness.methods._base import Method

METHOD = Method(
    name="waveft",
    config_class="WaveFTConfig",
    fixed={"n_frequency": 8},
    non_identity={"init_weights": False},
)
