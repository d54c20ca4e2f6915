from harness.methods._base import Method

METHOD = Method(
    name="lokr", config_class="LoKrConfig", fixed={"r": 4, "alpha": 4}, non_identity={"init_weights": False}
)
