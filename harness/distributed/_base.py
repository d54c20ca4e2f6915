"""What a distributed strategy is: a plugin that wraps the model in a manual loop, or passes the
Trainer its arguments, and writes the same for repro scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.plugin import Plugin, Scene

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario


class Strategy(Plugin):
    """Base of every strategy; its actions are recorded in the "setup" phase (where the Trainer wraps)."""

    # Why the gradient and update checks cannot be measured (None: they can). A wrapper that shards
    # parameters replaces the ones the probe's tensor hooks sit on; its gradients reach the shards.
    shards_parameters: str | None = None
    # whether each rank's shard of a parameter holds its gradient in ``.grad`` at the optimizer step
    # (FSDP, FSDP2; DeepSpeed's ZeRO keeps gradients in partitions of its own)
    grads_in_shards: bool = False
    # the wrapped model runs backward and the optimizer step itself (a DeepSpeed engine)
    owns_step: bool = False
    # the fields of `distributed:` that are this strategy's own options (set elsewhere: an error)
    own_options: tuple[str, ...] = ()

    def phase(self, point: str) -> str:
        return "setup"

    def problem(self, scenario: Scenario) -> str | None:
        """Why ``scenario`` cannot use this strategy as written (None: it can)."""
        return None

    def wrap(self, model: Any, scenario: Scenario, device: str) -> Any:
        """The manual loop's model, wrapped as users wrap it after attaching the adapter."""
        return model

    def training_arguments(self, scenario: Scenario, fields: set[str]) -> dict[str, Any]:
        """What users pass to ``TrainingArguments`` for this strategy (verbatim: an unknown one fails)."""
        return {}

    def describe(self, wrapped: Any) -> dict[str, Any]:
        """What took effect, for the record's ``effective.distributed``."""
        return {"wrapper": type(wrapped).__name__}

    def emit_wrap(self, scene: Scene) -> str | None:
        """The manual loop's wrapping as code (indented for ``main``), or None."""
        return None

    def emit_training_arguments(self, scene: Scene) -> str | None:
        arguments = self.training_arguments(scene.scenario, set())
        if not arguments:
            return None
        from harness.report.repro.inline import literal

        return f"        arguments.update({literal(arguments, 8)})  # distributed.strategy {self.name}"

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        """Nothing of its own to vary beyond the strategy itself."""


def block_classes(model: Any) -> set[type]:
    """The model's repeated block classes (transformers' ``_no_split_modules``), for auto-wrapping."""
    names: set[str] = set()
    for module in model.modules():
        names.update(getattr(module, "_no_split_modules", None) or ())
    return {type(m) for m in model.modules() if type(m).__name__ in names}
