"""AQLM (additive quantization) through transformers' ``AqlmConfig``.

Registered for CUDA. Like AWQ, transformers loads only checkpoints quantized beforehand (the
AQLM quantizer sets ``requires_calibration``; quantizing takes the aqlm repository's own
calibration run), so ``from_pretrained`` on unquantized weights raises "does require the model to
be pre-quantized": a tiny random model cannot be quantized with AQLM through transformers.
"""

from __future__ import annotations

from typing import Any

from harness.quantization._base import Backend, BackendOptions, Modules


class AqlmOptions(BackendOptions):
    num_codebooks: int = 1
    nbits_per_codebook: int = 16
    in_group_size: int = 8


def quantized_layer(module: Any) -> bool:
    return type(module).__module__.startswith("aqlm")


class Aqlm(Backend):
    name = "aqlm"
    Options = AqlmOptions
    requires = ("aqlm",)
    devices = ("cuda",)
    device_note = (
        "and transformers loads only pre-quantized AQLM checkpoints (requires_calibration): "
        "a tiny random model cannot be quantized with it on any device"
    )
    error_bound = 0.5  # not calibrated: no GPU run yet

    def quantization_config(self, options: AqlmOptions, modules: Modules) -> Any:
        return modules("transformers").AqlmConfig(
            num_codebooks=options.num_codebooks,
            nbits_per_codebook=options.nbits_per_codebook,
            in_group_size=options.in_group_size,
            **options.config,
        )

    quantized_layer = staticmethod(quantized_layer)

    def describe(self, options: AqlmOptions) -> str:
        return f"AQLM {options.num_codebooks}x{options.nbits_per_codebook}"


BACKEND = Aqlm()
