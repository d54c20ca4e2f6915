"""X-LoRA: a trained classifier mixes several saved LoRA adapters per token.

Its config names adapters on disk, so the attach step first trains nothing: it attaches two
non-identity LoRA adapters to the model, saves each and unloads it, then attaches X-LoRA over
the saved pair. peft refuses X-LoRA on a model with ``use_cache`` on (``ValueError: `use_cache`
must be False``), so the step turns it off, as X-LoRA's documentation tells users to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.methods._base import Method
from harness.plugin import Scene, Stage

ADAPTERS = ("0", "1")


@dataclass(frozen=True)
class XLora(Method):
    def config_kwargs(
        self, scenario: Any, family: Any, task_type: str | None, accepted: set[str] | None = None
    ) -> dict[str, Any]:
        """X-LoRA targets what its saved adapters target; the adapters and hidden size come at attach."""
        kwargs = super().config_kwargs(scenario, family, task_type, accepted)
        kwargs.pop("target_modules", None)
        return kwargs

    def on_attach(self, stage: Stage) -> None:
        import peft

        from harness.families import FAMILIES

        scenario = stage.scenario
        family = FAMILIES[scenario.model.family]
        paths = {}
        for name in ADAPTERS:
            lora = peft.LoraConfig(target_modules=family.targets["attention"], init_lora_weights=False)
            wrapped = peft.get_peft_model(stage.model, lora)
            paths[name] = str(Path(stage.workdir) / f"xlora-adapter-{name}")
            wrapped.save_pretrained(paths[name])
            stage.model = wrapped.unload()
        stage.model.config.use_cache = False
        kwargs = self.config_kwargs(scenario, family, family.task(scenario.model).peft_task_type)
        kwargs = {"hidden_size": stage.model.config.get_text_config().hidden_size, "adapters": paths, **kwargs}
        config = peft.XLoraConfig(**kwargs)
        stage.peft_config = config
        stage.effective["attach"] = scenario.peft.attach
        stage.model = peft.get_peft_model(stage.model, config, **scenario.peft.wrap_kwargs)

    def emit_attach(self, scene: Scene) -> str:
        from harness.families import FAMILIES
        from harness.report.repro.inline import call

        scenario = scene.scenario
        family = FAMILIES[scenario.model.family]
        kwargs = self.config_kwargs(scenario, family, family.task(scenario.model).peft_task_type)
        scene.imports.update({"tempfile"})
        targets = family.targets["attention"]
        return "\n".join(
            [
                "    # X-LoRA mixes saved LoRA adapters: make two, save each, unload it",
                '    require(peft, "XLoraConfig")',
                "    adapter_dir = tempfile.mkdtemp()",
                "    paths = {}",
                f"    for name in {ADAPTERS!r}:",
                f"        lora = peft.LoraConfig(target_modules={targets!r}, init_lora_weights=False)",
                "        wrapped = peft.get_peft_model(model, lora)",
                '        paths[name] = f"{adapter_dir}/xlora-adapter-{name}"',
                "        wrapped.save_pretrained(paths[name])",
                "        model = wrapped.unload()",
                "    model.config.use_cache = False  # peft: `use_cache` must be False",
                "    hidden_size = model.config.get_text_config().hidden_size",
                "    peft_config = "
                + call("peft.XLoraConfig", kwargs, 4, trailing=("hidden_size=hidden_size", "adapters=paths")),
                "    model = "
                + call("peft.get_peft_model", scenario.peft.wrap_kwargs, 4, positional=("model", "peft_config")),
            ]
        )


METHOD = XLora(
    name="xlora",
    config_class="XLoraConfig",
    targets=None,
    fixed={"xlora_depth": 1},
)
