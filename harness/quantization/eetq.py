"""EETQ int8 weight-only through transformers' ``EetqConfig``.

Registered for CUDA: transformers refuses it without a GPU ("No GPU found. A GPU is needed for
quantization"). transformers 5 loads the kernels from the Hub (``kernels`` package,
kernels-community/quantization-eetq), so a machine without network access cannot quantize
either, unless that kernel is cached. Not verified on a GPU yet.
"""

from __future__ import annotations

from typing import Any

from harness.quantization._base import Backend, BackendOptions, Modules


def quantized_layer(module: Any) -> bool:
    return type(module).__name__ == "EetqLinear" or type(module).__module__.startswith("eetq")


class Eetq(Backend):
    name = "eetq"
    Options = BackendOptions
    requires = ("kernels",)
    devices = ("cuda",)
    device_note = "transformers 5 also downloads its kernel from the Hub (kernels-community/quantization-eetq)"
    error_bound = 0.1  # not calibrated: no GPU run yet

    def quantization_config(self, options: BackendOptions, modules: Modules) -> Any:
        skip = {} if options.skip_modules is None else {"modules_to_not_convert": options.skip_modules}
        return modules("transformers").EetqConfig(weights="int8", **skip, **options.config)

    quantized_layer = staticmethod(quantized_layer)

    def describe(self, options: BackendOptions) -> str:
        return "EETQ int8 weights"


BACKEND = Eetq()
