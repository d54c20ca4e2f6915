"""Quantization backends: how a saved tiny model is reloaded through ``from_pretrained``."""

from harness.registry import Registry

BACKENDS: Registry = Registry(
    "quantization backend",
    {
        "none": "harness.quantization.none:BACKEND",
        "bnb-4bit": "harness.quantization.bnb:BNB_4BIT",
        "bnb-8bit": "harness.quantization.bnb:BNB_8BIT",
        "torchao": "harness.quantization.torchao:BACKEND",
        "quanto": "harness.quantization.quanto:BACKEND",
        "hqq": "harness.quantization.hqq:BACKEND",
        "gptq": "harness.quantization.gptq:BACKEND",
        "awq": "harness.quantization.awq:BACKEND",
        "eetq": "harness.quantization.eetq:BACKEND",
        "aqlm": "harness.quantization.aqlm:BACKEND",
    },
)
