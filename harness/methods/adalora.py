"""AdaLoRA needs its schedule's length; recent peft refuses a config without total_step."""

from harness.methods._base import Method

METHOD = Method(
    name="adalora",
    config_class="AdaLoraConfig",
    non_identity={"init_lora_weights": False},
    derived=lambda scenario: {
        "total_step": max(scenario.steps.train_steps, 1) + 10,
        "init_r": 4,
        "target_r": 2,
        "tinit": 0,
        "tfinal": 0,
    },
)
