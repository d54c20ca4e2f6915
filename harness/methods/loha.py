from harness.methods._base import Method

METHOD = Method(
    name="loha", config_class="LoHaConfig", fixed={"r": 4, "alpha": 4}, non_identity={"init_weights": False}
)
