"""AWQ through transformers' ``AwqConfig`` (gptqmodel kernels in transformers 5, autoawq before).

Registered for CUDA. transformers loads only AWQ checkpoints quantized beforehand: its AWQ
quantizer sets ``requires_calibration``, so ``from_pretrained(quantization_config=AwqConfig())`` on
unquantized weights raises "does require the model to be pre-quantized" (quantizers/base.py). A
tiny random model therefore cannot be quantized with AWQ through transformers, on any device.
"""

from __future__ import annotations

from typing import Any, Literal

from harness.quantization._base import Backend, BackendOptions, Modules


class AwqOptions(BackendOptions):
    bits: Literal[4] = 4
    group_size: int = 32
    zero_point: bool = True


def quantized_layer(module: Any) -> bool:
    return type(module).__module__.startswith(("gptqmodel", "awq"))


class Awq(Backend):
    name = "awq"
    Options = AwqOptions
    requires = ("gptqmodel",)
    devices = ("cuda",)
    device_note = (
        "and transformers loads only pre-quantized AWQ checkpoints (requires_calibration): "
        "a tiny random model cannot be quantized with it on any device"
    )
    error_bound = 0.3  # not calibrated: no GPU run yet

    def quantization_config(self, options: AwqOptions, modules: Modules) -> Any:
        return modules("transformers").AwqConfig(
            bits=options.bits, group_size=options.group_size, zero_point=options.zero_point, **options.config
        )

    quantized_layer = staticmethod(quantized_layer)

    def describe(self, options: AwqOptions) -> str:
        return f"AWQ {options.bits}-bit, group {options.group_size}"


BACKEND = Awq()
