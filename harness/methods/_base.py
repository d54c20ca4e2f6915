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
from harness.plugin import Plugin, Scene, Stage

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario
    from harness.families._base import Family

ATTACH_CALLS = {"add_adapter": "model.add_adapter", "get_peft_model": "peft.get_peft_model"}


@dataclass(frozen=True)
class Method(Plugin):
    # field(): Plugin's class attribute `name = ""` would otherwise become this field's default
    name: str = field()
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
    # "any" where the method's own init leaves some adapter weights without a gradient at step
    # one by design and peft has no other init (a zero gate, EVA's B=0): the gradients check then
    # asks for a gradient somewhere, not everywhere; ``gradients_why`` says why in the record.
    gradients: str = "all"
    gradients_why: str = ""
    # False where peft implements the adapter without tuner layers (adaption prompt's
    # AdaptedAttention): the adapter-targets check has nothing to count.
    tuner_layers: bool = True

    def gradient_mode(self, asked: str) -> str:
        """The gradients check for this method: the scenario's, relaxed to "any" by design only."""
        return "any" if asked == "all" and self.gradients == "any" else asked

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
            targets = spec.target_modules
            if targets is None:
                targets = family.target_modules(scenario.model, self.targets)
            kwargs["target_modules"] = targets
            if self.needs_feedforward:
                listed = targets if isinstance(targets, list) else []
                kwargs["feedforward_modules"] = [m for m in family.feedforward_modules(scenario.model) if m in listed]
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

    # -- the attach point: the pipeline's action and the repro script's code for it ----------

    def action(self, point: str) -> Any:
        return super().action(point) if self.attaches else None

    def emitter(self, point: str) -> Any:
        return super().emitter(point) if self.attaches else None

    def on_attach(self, stage: Stage) -> None:
        from harness.families import FAMILIES

        scenario = stage.scenario
        family = FAMILIES[scenario.model.family]
        config = self.config(scenario, family, family.task(scenario.model).peft_task_type)
        stage.peft_config = config
        stage.effective["attach"] = scenario.peft.attach
        wrap_kwargs = scenario.peft.wrap_kwargs
        if scenario.peft.attach == "add_adapter":
            stage.model.add_adapter(config, **wrap_kwargs)
            return
        from peft import get_peft_model

        stage.model = get_peft_model(stage.model, config, **wrap_kwargs)

    def emit_attach(self, scene: Scene) -> str:
        from harness.families import FAMILIES
        from harness.report.repro.inline import call, literal

        scenario = scene.scenario
        family = FAMILIES[scenario.model.family]
        task_type = family.task(scenario.model).peft_task_type
        base = self.config_kwargs(scenario, family, task_type, accepted=set())
        full = self.config_kwargs(scenario, family, task_type, accepted=None)
        extras = {k: v for k, v in full.items() if k not in base}
        lines = [
            f"    # {self.name} through {ATTACH_CALLS[scenario.peft.attach]}",
            f"    require(peft, {literal(self.config_class)})",
        ]
        trailing: tuple[str, ...] = ()
        if extras:
            scene.imports.add("dataclasses")
            lines += [
                "    # the harness's own choices (non-identity init, schedule lengths), where this peft has them",
                f"    accepted = {{field.name for field in dataclasses.fields(peft.{self.config_class})}}",
                f"    extras = {literal(extras, 4)}",
            ]
            trailing = ("**{key: value for key, value in extras.items() if key in accepted}",)
        lines.append("    peft_config = " + call(f"peft.{self.config_class}", base, 4, trailing=trailing))
        wrap = scenario.peft.wrap_kwargs
        if scenario.peft.attach == "add_adapter":
            lines.append("    " + call("model.add_adapter", wrap, 4, positional=("peft_config",)))
        else:
            lines.append("    model = " + call("peft.get_peft_model", wrap, 4, positional=("model", "peft_config")))
        return "\n".join(lines)
