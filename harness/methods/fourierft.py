"""FourierFT: trains a few spectral coefficients of each weight's update."""

from harness.methods._base import Method

METHOD = Method(
    name="fourierft",
    config_class="FourierFTConfig",
    fixed={"n_frequency": 10},
    non_identity={"init_weights": False},
)
