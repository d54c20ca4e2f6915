"""What a PEFT method is: a peft config class, fixed keywords, and a non-identity init.

The harness assembles the config's keyword arguments in layers, the scenario's own
``peft.config`` last, so an invalid keyword reaches peft verbatim and reproduces the TypeError
users hit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.families._base import Unsupported

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario
    from harness.families._base import Family


@dataclass(frozen=True)
class Method:
    name: str
    config_class: str | None
    # Keywords that define the method (DoRA is LoRA with use_dora=True).
    fixed: Mapping[str, Any] = field(default_factory=dict)
    # Keywords that make every adapter weight receive a gradient at step one, as peft's own
    # tests do (LoRA's default B=0 zeroes A's gradient).
    non_identity: Mapping[str, Any] = field(default_factory=dict)
    # Family target group to adapt by default; None for prompt-learning methods.
    targets: str | None = "attention"
    needs_feedforward: bool = False
    # Keywords derived from the scenario (AdaLoRA's total_step, prompt lengths).
    derived: Callable[[Scenario], dict[str, Any]] | None = None

    @property
    def attaches(self) -> bool:
        return self.config_class is not None

    def config_kwargs(
        self, scenario: Scenario, family: Family, task_type: str | None, accepted: set[str] | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for the config class; ``accepted`` filters the harness's own extras."""
        spec = scenario.peft
        kwargs: dict[str, Any] = {}
        if task_type and spec.attach == "get_peft_model":
            kwargs["task_type"] = task_type
        if self.targets is not None:
            targets = spec.target_modules if spec.target_modules is not None else family.targets[self.targets]
            kwargs["target_modules"] = targets
            if self.needs_feedforward:
                listed = targets if isinstance(targets, list) else []
                kwargs["feedforward_modules"] = [m for m in family.feedforward if m in listed]
        extras = dict(self.derived(scenario)) if self.derived is not None else {}
        if spec.init == "non-identity":
            extras.update(self.non_identity)
        # Extras are the harness's choices, not the scenario's: an old peft that lacks one of them
        # must not fail for it. The method's defining keywords and the scenario's config go
        # through verbatim, so their TypeErrors are real.
        kwargs.update({k: v for k, v in extras.items() if accepted is None or k in accepted})
        kwargs.update(self.fixed)
        kwargs.update(spec.config)
        return kwargs

    def config(self, scenario: Scenario, family: Family, task_type: str | None) -> Any:
        import peft

        config_class = getattr(peft, self.config_class or "", None)
        if config_class is None:
            raise Unsupported(f"peft {peft.__version__} has no {self.config_class} (method '{self.name}')")
        accepted = (
            {f.name for f in dataclasses.fields(config_class)} if dataclasses.is_dataclass(config_class) else None
        )
        return config_class(**self.config_kwargs(scenario, family, task_type, accepted))
