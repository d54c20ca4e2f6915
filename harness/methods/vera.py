"""VeRA shares one random projection, so all its targets must have the same shape."""

from harness.methods._base import Method

METHOD = Method(name="vera", config_class="VeraConfig", fixed={"r": 8}, non_identity={"init_weights": False})
