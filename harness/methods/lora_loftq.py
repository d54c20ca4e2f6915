"""LoftQ: LoRA initialised to compensate the error of quantizing the base weights (4 bits).

peft needs scipy for it; the harness's default environment does not install scipy."""

from harness.methods._base import Method

METHOD = Method(
    name="lora-loftq",
    config_class="LoraConfig",
    fixed={"init_lora_weights": "loftq", "loftq_config": {"loftq_bits": 4, "loftq_iter": 1}},
)
