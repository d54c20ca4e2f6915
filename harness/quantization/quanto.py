"""optimum-quanto through transformers' ``QuantoConfig``: int8/int4/int2/float8 weights, optional activations.

Linears become ``optimum.quanto.QLinear`` (an ``nn.Linear`` subclass whose weight is quantized
on the fly, so the unquantized float weight stays in the module until ``freeze``). peft has no
quanto layer: it wraps a QLinear like a plain Linear. ``prepare_model_for_kbit_training`` does not
list quanto among the quantized methods (peft/utils/other.py), so it casts and freezes as for an
unquantized model and enables checkpointing only as it does for one.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harness.quantization._base import Backend, BackendOptions, Modules


class QuantoOptions(BackendOptions):
    weights: Literal["int8", "int4", "int2", "float8"] = "int8"
    activations: Literal["none", "int8", "float8"] = "none"


def quantized_layer(module: Any) -> bool:
    return type(module).__module__.startswith("optimum.quanto") and hasattr(module, "weight")


class Quanto(Backend):
    name = "quanto"
    Options = QuantoOptions
    requires = ("optimum-quanto",)
    # calibrated on the catalog with optimum-quanto 0.2.7 (2026-12-02, fp32 and bf16): worst measured
    # int8 0.008, int4 0.10, int2 0.51, float8 0.027; about 2x room or more, far below a broken kernel
    BOUNDS: ClassVar[dict[str, float]] = {"int8": 0.02, "int4": 0.3, "int2": 1.0, "float8": 0.1}

    def quantization_config(self, options: QuantoOptions, modules: Modules) -> Any:
        activations = {} if options.activations == "none" else {"activations": options.activations}
        skip = {} if options.skip_modules is None else {"modules_to_not_convert": options.skip_modules}
        return modules("transformers").QuantoConfig(weights=options.weights, **activations, **skip, **options.config)

    def bound(self, options: QuantoOptions) -> float:
        return self.BOUNDS[options.weights]

    quantized_layer = staticmethod(quantized_layer)

    def describe(self, options: QuantoOptions) -> str:
        activations = f", {options.activations} activations" if options.activations != "none" else ""
        return f"optimum-quanto {options.weights} weights{activations}"

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "quantization.weights", draw(first("int8", ["int4", "int2", "float8"])), "int8")
        put(fields, "quantization.activations", draw(first("none", ["int8", "float8"])), "none")


BACKEND = Quanto()
