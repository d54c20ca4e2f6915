from harness.methods._base import Method

METHOD = Method(name="lora", config_class="LoraConfig", non_identity={"init_lora_weights": False})
