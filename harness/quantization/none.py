from harness.quantization._base import NoQuantization

BACKEND = NoQuantization()
