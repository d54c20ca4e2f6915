from harness.methods._base import Method

METHOD = Method(
    name="dora", config_class="LoraConfig", fixed={"use_dora": True}, non_identity={"init_lora_weights": False}
)
