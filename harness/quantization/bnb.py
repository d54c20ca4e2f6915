"""bitsandbytes 4-bit (nf4/fp4, double quant, compute dtype) and 8-bit (LLM.int8)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harness.dsl.schema import Dtype
from harness.quantization._base import Backend, BackendOptions, Modules


class FourBitOptions(BackendOptions):
    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = False
    compute_dtype: Dtype = "float32"


def quantized_layer(module: Any) -> bool:
    return type(module).__module__.startswith("bitsandbytes") and hasattr(module, "weight")


class BitsAndBytes(Backend):
    requires = ("bitsandbytes",)

    quantized_layer = staticmethod(quantized_layer)

    def skip_keywords(self, options: Any) -> dict[str, Any]:
        if options.skip_modules is None:
            return {}
        return {"llm_int8_skip_modules": options.skip_modules}


class FourBit(BitsAndBytes):
    name = "bnb-4bit"
    Options = FourBitOptions
    # calibrated on the catalog with bitsandbytes 0.50.2 (2026-12-02, fp32 and bf16): nf4 at most
    # 0.13, fp4 0.135; about 2x room, far below what a broken kernel gives
    BOUNDS: ClassVar[dict[str, float]] = {"nf4": 0.3, "fp4": 0.4}

    def quantization_config(self, options: FourBitOptions, modules: Modules) -> Any:
        return modules("transformers").BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=options.quant_type,
            bnb_4bit_use_double_quant=options.double_quant,
            bnb_4bit_compute_dtype=getattr(modules("torch"), options.compute_dtype),
            **self.skip_keywords(options),
            **options.config,
        )

    def bound(self, options: FourBitOptions) -> float:
        return self.BOUNDS[options.quant_type]

    def describe(self, options: FourBitOptions) -> str:
        double = ", double quant" if options.double_quant else ""
        return f"bitsandbytes 4-bit {options.quant_type}{double}, compute {options.compute_dtype}"

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "quantization.quant_type", draw(first("nf4", ["fp4"])), "nf4")
        put(fields, "quantization.double_quant", draw(first(False, [True])), False)
        put(fields, "quantization.compute_dtype", draw(first("float32", Dtype.__args__)), "float32")


class EightBit(BitsAndBytes):
    name = "bnb-8bit"
    Options = BackendOptions
    error_bound = 0.1  # LLM.int8 on bitsandbytes 0.50.2: at most 0.007

    def quantization_config(self, options: BackendOptions, modules: Modules) -> Any:
        return modules("transformers").BitsAndBytesConfig(
            load_in_8bit=True, **self.skip_keywords(options), **options.config
        )

    def describe(self, options: BackendOptions) -> str:
        return "bitsandbytes 8-bit (LLM.int8)"


BNB_4BIT = FourBit()
BNB_8BIT = EightBit()
