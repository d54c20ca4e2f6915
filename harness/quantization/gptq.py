"""GPTQ through transformers' ``GPTQConfig`` (gptqmodel kernels via optimum): 2/3/4/8-bit weights.

Registered for CUDA. Quantizing at load needs calibration text and a tokenizer to turn it into
ids (``dataset``; the tokenizer defaults to the checkpoint's); the harness's tiny models are
built from a config, with no tokenizer saved beside them, so even on CUDA a tiny random model
cannot be quantized unless a scenario supplies both (``quantization.config: {tokenizer: ...}``).
Not verified on a GPU yet.
"""

from __future__ import annotations

from typing import Any, Literal

from harness.quantization._base import Backend, BackendOptions, Modules


class GptqOptions(BackendOptions):
    bits: Literal[2, 3, 4, 8] = 4
    group_size: int = 32
    # calibration: a list of texts, or one of transformers' names (wikitext2, c4, c4-new: downloads)
    dataset: list[str] | str = "wikitext2"


def quantized_layer(module: Any) -> bool:
    return type(module).__module__.startswith(("gptqmodel", "auto_gptq", "optimum"))


class Gptq(Backend):
    name = "gptq"
    Options = GptqOptions
    requires = ("optimum", "gptqmodel")
    devices = ("cuda",)
    device_note = "quantizing also needs calibration data and a tokenizer, which a tiny random model lacks"
    error_bound = 0.3  # not calibrated: no GPU run yet

    def quantization_config(self, options: GptqOptions, modules: Modules) -> Any:
        return modules("transformers").GPTQConfig(
            bits=options.bits, group_size=options.group_size, dataset=options.dataset, **options.config
        )

    quantized_layer = staticmethod(quantized_layer)

    def describe(self, options: GptqOptions) -> str:
        return f"GPTQ {options.bits}-bit, group {options.group_size}"


BACKEND = Gptq()
