"""Distributed strategies: how a variant's model is trained by several processes at once.

Each strategy is a plugin (harness/plugin.py) in a module of its own: it owns what it adds to the
manual loop (wrapping the model, as users do after attaching the adapter), what it passes to
``TrainingArguments`` when the Trainer runs (``ddp_find_unused_parameters``, ``fsdp``,
``deepspeed``), the same steps written out for repro scripts, and its explore draws. How the
ranks are started and merged into one observation is harness/distributed/launch.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.registry import Registry

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario

STRATEGIES: Registry = Registry(
    "distributed strategy",
    {
        "none": "harness.distributed.none:STRATEGY",
        "ddp": "harness.distributed.ddp:STRATEGY",
        "fsdp": "harness.distributed.fsdp:FSDP1",
        "fsdp2": "harness.distributed.fsdp:FSDP2",
        "deepspeed": "harness.distributed.deepspeed:STRATEGY",
    },
)

LAUNCHERS: tuple[str, ...] = ("inline", "torchrun", "accelerate")


def is_distributed(scenario: Scenario) -> bool:
    """Whether the variant runs as a group of ranks (a strategy other than none)."""
    return scenario.distributed.strategy != "none"
