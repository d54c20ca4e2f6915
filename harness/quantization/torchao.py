"""torchao through transformers' ``TorchAoConfig``: int8 or int4 weights, optionally int8 activations.

Weights stay ``nn.Linear`` modules whose ``weight`` is a torchao tensor subclass; peft wraps them
with its torchao LoRA layer (peft/tuners/lora/torchao.py) and ``prepare_model_for_kbit_training``
treats the model as quantized (``quantization_method == "torchao"``).

int4 has two configs: ``IntxWeightOnlyConfig(weight_dtype=torch.int4)`` stores int4 values
unpacked in int8 and runs everywhere; ``Int4WeightOnlyConfig`` packs them for CUDA kernels
(torchao 0.18: its ``plain`` format needs the ``mslk`` kernels, ``plain_int32`` has no CPU
implementation, ``tile_packed_to_4d`` needs CUDA), so on CPU it fails at the reload.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harness.quantization._base import Backend, BackendOptions, Modules


class TorchAoOptions(BackendOptions):
    weights: Literal["int8", "int4"] = "int8"
    # int8: dynamic per-token activation quantization (Int8DynamicActivation...Config)
    activations: Literal["none", "int8"] = "none"
    # None: per output channel (int8), 32 (int4; it must divide the tiny model's widths)
    group_size: int | None = None
    int4_config: Literal["IntxWeightOnlyConfig", "Int4WeightOnlyConfig"] = "IntxWeightOnlyConfig"
    # Int4WeightOnlyConfig's int4_packing_format (None: torchao's default, "plain")
    packing_format: str | None = None


def quantized_layer(module: Any) -> bool:
    weight = getattr(module, "weight", None)
    return type(weight).__module__.startswith("torchao") and not hasattr(module, "base_layer")


class TorchAo(Backend):
    name = "torchao"
    Options = TorchAoOptions
    requires = ("torchao",)
    # calibrated on the catalog with torchao 0.18.0 (2026-12-02, fp32 and bf16): worst measured
    # int8 weights 0.011, int4 (group 32) 0.105; about 2x room, far below a broken kernel's error
    BOUNDS: ClassVar[dict[str, float]] = {"int8": 0.02, "int4": 0.2}

    def quantization_config(self, options: TorchAoOptions, modules: Modules) -> Any:
        skip = {} if options.skip_modules is None else {"modules_to_not_convert": options.skip_modules}
        return modules("transformers").TorchAoConfig(quant_type=self._inner(options, modules), **skip)

    def _inner(self, options: TorchAoOptions, modules: Modules) -> Any:
        """The torchao config object (``options.config`` adds keywords to it)."""
        ao = modules("torchao.quantization")
        if options.weights == "int8":
            group = {"group_size": options.group_size} if options.group_size is not None else {}
            if options.activations == "int8":
                return ao.Int8DynamicActivationInt8WeightConfig(**options.config)
            return ao.Int8WeightOnlyConfig(**group, **options.config)
        group_size = options.group_size or 32
        int4 = modules("torch").int4
        granularity = modules("torchao.quantization.granularity").PerGroup(group_size=group_size)
        if options.activations == "int8":
            return ao.Int8DynamicActivationIntxWeightConfig(
                weight_dtype=int4, weight_granularity=granularity, **options.config
            )
        if options.int4_config == "Int4WeightOnlyConfig":
            packing = {"int4_packing_format": options.packing_format} if options.packing_format else {}
            return ao.Int4WeightOnlyConfig(group_size=group_size, **packing, **options.config)
        return ao.IntxWeightOnlyConfig(weight_dtype=int4, granularity=granularity, **options.config)

    def bound(self, options: TorchAoOptions) -> float:
        return self.BOUNDS[options.weights]

    quantized_layer = staticmethod(quantized_layer)

    def layer_kind(self, module: Any) -> str:
        return f"{type(module).__name__}[{type(module.weight).__name__}]"

    def describe(self, options: TorchAoOptions) -> str:
        activations = ", int8 activations" if options.activations == "int8" else ""
        group = f", group {options.group_size or 32}" if options.weights == "int4" else ""
        config = f" ({options.int4_config})" if options.weights == "int4" and options.activations == "none" else ""
        return f"torchao {options.weights} weights{group}{activations}{config}"

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "quantization.weights", draw(first("int8", ["int4"])), "int8")
        put(fields, "quantization.activations", draw(first("none", ["int8"])), "none")


BACKEND = TorchAo()
