"""DistributedDataParallel: ``DDP(model, find_unused_parameters=...)`` or the Trainer's ddp_* arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.distributed._base import Strategy
from harness.plugin import Scene
from harness.report.repro.inline import call

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario


class DDP(Strategy):
    name = "ddp"
    own_options = ("find_unused_parameters", "static_graph")

    def _kwargs(self, scenario: Scenario) -> dict[str, Any]:
        spec = scenario.distributed
        kwargs: dict[str, Any] = {}
        if spec.find_unused_parameters is not None:  # unset: torch's own default
            kwargs["find_unused_parameters"] = spec.find_unused_parameters
        if spec.static_graph:
            kwargs["static_graph"] = True
        return kwargs

    def wrap(self, model: Any, scenario: Scenario, device: str) -> Any:
        from torch.nn.parallel import DistributedDataParallel

        kwargs = self._kwargs(scenario)
        if device.startswith("cuda"):
            import torch

            kwargs["device_ids"] = [torch.cuda.current_device()]
        return DistributedDataParallel(model, **kwargs)

    def training_arguments(self, scenario: Scenario, fields: set[str]) -> dict[str, Any]:
        spec = scenario.distributed
        arguments: dict[str, Any] = {}
        if spec.find_unused_parameters is not None:
            arguments["ddp_find_unused_parameters"] = spec.find_unused_parameters
        if spec.static_graph:
            arguments["ddp_static_graph"] = True
        return arguments

    def describe(self, wrapped: Any) -> dict[str, Any]:
        return {
            "wrapper": type(wrapped).__name__,
            "find_unused_parameters": getattr(wrapped, "find_unused_parameters", None),
            "static_graph": getattr(wrapped, "static_graph", None),
        }

    def emit_wrap(self, scene: Scene) -> str | None:
        trailing = ("device_ids=[LOCAL_RANK]",) if scene.device.startswith("cuda") else ()
        wrapped = call("DistributedDataParallel", self._kwargs(scene.scenario), 4, ("model",), trailing)
        return f"    from torch.nn.parallel import DistributedDataParallel\n\n    model = {wrapped}"

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        from harness.explore.strategies import first, put

        put(fields, "distributed.find_unused_parameters", draw(first(None, [True, False])))
        put(fields, "distributed.static_graph", draw(first(False, [True])), False)


STRATEGY = DDP()
