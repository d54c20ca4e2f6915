"""bitsandbytes 4-bit (nf4/fp4, double quant, compute dtype) and 8-bit (LLM.int8)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.families._base import Unsupported
from harness.quantization._base import Backend

if TYPE_CHECKING:
    from harness.dsl.schema import QuantizationSpec


def _bnb_config(**kwargs: Any) -> Any:
    from importlib.util import find_spec

    if find_spec("bitsandbytes") is None:
        raise Unsupported("bitsandbytes is not installed")
    import transformers

    return transformers.BitsAndBytesConfig(**kwargs)


def four_bit(spec: QuantizationSpec) -> Any:
    import torch

    kwargs: dict[str, Any] = {
        "load_in_4bit": True,
        "bnb_4bit_quant_type": spec.quant_type,
        "bnb_4bit_use_double_quant": spec.double_quant,
        "bnb_4bit_compute_dtype": getattr(torch, spec.compute_dtype),
    }
    if spec.skip_modules is not None:
        kwargs["llm_int8_skip_modules"] = spec.skip_modules
    return _bnb_config(**kwargs, **spec.config)


def eight_bit(spec: QuantizationSpec) -> Any:
    kwargs: dict[str, Any] = {"load_in_8bit": True}
    if spec.skip_modules is not None:
        kwargs["llm_int8_skip_modules"] = spec.skip_modules
    return _bnb_config(**kwargs, **spec.config)


BNB_4BIT = Backend(name="bnb-4bit", make_config=four_bit, requires="bitsandbytes")
BNB_8BIT = Backend(name="bnb-8bit", make_config=eight_bit, requires="bitsandbytes")
