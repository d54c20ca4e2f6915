"""HQQ (half-quadratic quantization) through transformers' ``HqqConfig``: 1-8 bit weights, no calibration.

Linears become ``hqq.core.quantize.HQQLinear``; peft wraps them with its HQQ LoRA layer
(peft/tuners/lora/hqq.py) and ``prepare_model_for_kbit_training`` treats the model as quantized
(``quantization_method == "hqq"``). transformers 5 has no on-the-fly HQQ quantizer
(``HqqHfQuantizer`` lacks ``get_quantize_ops``): ``from_pretrained`` raises
``NotImplementedError: QuantizationMethod.HQQ is not available yet`` (scenarios/_limits.yaml).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harness.quantization._base import Backend, BackendOptions, Modules


class HqqOptions(BackendOptions):
    nbits: Literal[8, 4, 3, 2, 1] = 4
    group_size: int = 64
    axis: Literal[0, 1] | None = None


def quantized_layer(module: Any) -> bool:
    return type(module).__module__.startswith("hqq")


class Hqq(Backend):
    name = "hqq"
    Options = HqqOptions
    requires = ("hqq",)
    # calibrated on the catalog with hqq 0.2.8.post1 / transformers 4.57.6 (2026-12-02, fp32 only:
    # bf16 fails at forward there): worst measured 0.006 (8 bit), 0.098 (4), 0.19 (3), 0.47 (2);
    # about 2x room (1 bit: not measured, a loose bound)
    BOUNDS: ClassVar[dict[int, float]] = {8: 0.02, 4: 0.2, 3: 0.4, 2: 0.8, 1: 2.0}

    def quantization_config(self, options: HqqOptions, modules: Modules) -> Any:
        axis = {} if options.axis is None else {"axis": options.axis}
        skip = {} if options.skip_modules is None else {"skip_modules": options.skip_modules}
        return modules("transformers").HqqConfig(
            nbits=options.nbits, group_size=options.group_size, **axis, **skip, **options.config
        )

    def bound(self, options: HqqOptions) -> float:
        return self.BOUNDS[options.nbits]

    quantized_layer = staticmethod(quantized_layer)

    def describe(self, options: HqqOptions) -> str:
        return f"HQQ {options.nbits}-bit, group {options.group_size}"

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "quantization.nbits", draw(first(4, [8, 3, 2])), 4)
        put(fields, "quantization.group_size", draw(first(64, [32])), 64)


BACKEND = Hqq()
