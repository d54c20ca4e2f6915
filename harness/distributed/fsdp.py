"""FSDP: ``FullyShardedDataParallel`` (fsdp) and ``fully_shard`` (fsdp2), each block wrapped then the root.

On CPU FSDP1 needs ``device_id=torch.device("cpu")`` (without it torch 2.13 refuses: "FSDP needs a
non-CPU accelerator device"); users on CUDA pass their local device the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.distributed._base import Strategy, block_classes
from harness.plugin import Scene

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario

# The emitted scripts' copy of block_classes (harness/distributed/_base.py), as plain code.
BLOCK_CLASSES_CODE = """\
    def block_classes(model):
        names = set()
        for module in model.modules():
            names.update(getattr(module, "_no_split_modules", None) or ())
        return {type(m) for m in model.modules() if type(m).__name__ in names}
"""


def _device(device: str) -> Any:
    import torch

    return torch.device("cuda", torch.cuda.current_device()) if device.startswith("cuda") else torch.device("cpu")


class FSDP1(Strategy):
    name = "fsdp"
    own_options = ("fsdp",)
    shards_parameters = "FSDP flattens and shards the parameters (gradients: merged over the ranks' shards)"
    grads_in_shards = True

    def wrap(self, model: Any, scenario: Scenario, device: str) -> Any:
        import functools

        from torch.distributed.fsdp import CPUOffload, ShardingStrategy
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

        options = scenario.distributed.fsdp
        policy = None
        if options.auto_wrap == "transformer_layer":
            policy = functools.partial(transformer_auto_wrap_policy, transformer_layer_cls=block_classes(model))
        return FSDP(
            model,
            auto_wrap_policy=policy,
            sharding_strategy=getattr(ShardingStrategy, options.sharding_strategy),
            use_orig_params=options.use_orig_params,
            cpu_offload=CPUOffload(offload_params=True) if options.cpu_offload else None,
            device_id=_device(device),
        )

    def training_arguments(self, scenario: Scenario, fields: set[str]) -> dict[str, Any]:
        options = scenario.distributed.fsdp
        words = [options.sharding_strategy.lower()]
        if options.auto_wrap == "transformer_layer":
            words.append("auto_wrap")
        if options.cpu_offload:
            words.append("offload")
        return {"fsdp": " ".join(words), "fsdp_config": {"use_orig_params": options.use_orig_params}}

    def describe(self, wrapped: Any) -> dict[str, Any]:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        return {"wrapper": type(wrapped).__name__, "fsdp_units": sum(isinstance(m, FSDP) for m in wrapped.modules())}

    def emit_wrap(self, scene: Scene) -> str | None:
        options = scene.scenario.distributed.fsdp
        policy = "None"
        if options.auto_wrap == "transformer_layer":
            policy = "functools.partial(transformer_auto_wrap_policy, transformer_layer_cls=block_classes(model))"
        offload = "CPUOffload(offload_params=True)" if options.cpu_offload else "None"
        device = 'torch.device("cuda", LOCAL_RANK)' if scene.device.startswith("cuda") else 'torch.device("cpu")'
        scene.imports.add("functools")
        return BLOCK_CLASSES_CODE + "\n".join(
            [
                "    from torch.distributed.fsdp import CPUOffload, ShardingStrategy",
                "    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP",
                "    from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy",
                "",
                "    model = FSDP(",
                "        model,",
                f"        auto_wrap_policy={policy},",
                f"        sharding_strategy=ShardingStrategy.{options.sharding_strategy},",
                f"        use_orig_params={options.use_orig_params},",
                f"        cpu_offload={offload},",
                f"        device_id={device},",
                "    )",
            ]
        )

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "distributed.fsdp.use_orig_params", draw(first(True, [False])), True)


class FSDP2(Strategy):
    name = "fsdp2"
    own_options = ("fsdp",)
    shards_parameters = "fully_shard replaces the parameters by DTensor shards (gradients: merged over the shards)"
    grads_in_shards = True

    def wrap(self, model: Any, scenario: Scenario, device: str) -> Any:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import CPUOffloadPolicy, fully_shard

        options = scenario.distributed.fsdp
        mesh = init_device_mesh("cuda" if device.startswith("cuda") else "cpu", (_world_size(),))
        kwargs: dict[str, Any] = {"mesh": mesh, "reshard_after_forward": options.reshard_after_forward}
        if options.cpu_offload:
            kwargs["offload_policy"] = CPUOffloadPolicy()
        if options.auto_wrap == "transformer_layer":
            classes = tuple(block_classes(model))
            for module in [m for m in model.modules() if isinstance(m, classes)]:
                fully_shard(module, **kwargs)
        fully_shard(model, **kwargs)
        return model

    def training_arguments(self, scenario: Scenario, fields: set[str]) -> dict[str, Any]:
        options = scenario.distributed.fsdp
        words = ["full_shard"] + (["auto_wrap"] if options.auto_wrap == "transformer_layer" else [])
        return {"fsdp": " ".join(words), "fsdp_config": {"fsdp_version": 2}}

    def describe(self, wrapped: Any) -> dict[str, Any]:
        return {"wrapper": type(wrapped).__name__}

    def emit_wrap(self, scene: Scene) -> str | None:
        options = scene.scenario.distributed.fsdp
        device = "cuda" if scene.device.startswith("cuda") else "cpu"
        offload = ", offload_policy=CPUOffloadPolicy()" if options.cpu_offload else ""
        lines = [
            BLOCK_CLASSES_CODE,
            "    from torch.distributed.device_mesh import init_device_mesh",
            "    from torch.distributed.fsdp import CPUOffloadPolicy, fully_shard",
            "",
            f'    mesh = init_device_mesh("{device}", (WORLD_SIZE,))',
            f"    shard = dict(mesh=mesh, reshard_after_forward={options.reshard_after_forward}{offload})",
        ]
        if options.auto_wrap == "transformer_layer":
            lines += [
                "    blocks = tuple(block_classes(model))",
                "    for module in [m for m in model.modules() if isinstance(m, blocks)]:",
                "        fully_shard(module, **shard)",
            ]
        lines.append("    fully_shard(model, **shard)")
        return "\n".join(lines)

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "distributed.fsdp.reshard_after_forward", draw(first(True, [False])), True)


def _world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size()


FSDP1 = FSDP1()  # type: ignore[assignment,misc]
FSDP2 = FSDP2()  # type: ignore[assignment,misc]
