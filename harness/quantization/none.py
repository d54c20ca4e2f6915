from harness.quantization._base import Backend

BACKEND = Backend(name="none")
