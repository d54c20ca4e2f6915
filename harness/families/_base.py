"""What a model family is: a config class, tiny sizes, heads by task and default adapter targets.

A family module is data plus, where the architecture needs it, its own input builder; it must not
import torch or transformers at import time (listing and validation stay instant).

A tiny config shrinks sizes only (widths, layers, heads, vocabulary, positions): every behavioural
default stays the config class's own, so a bug of the real layout is a bug of the tiny model too.
Where a family must set something else, `Family.deliberate` names the key and why;
tests/test_family_defaults.py compares each tiny config with its class's defaults against that list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from harness.errors import choices_hint
from harness.plugin import Plugin, Scene, Stage
from harness.registry import UnknownName

if TYPE_CHECKING:
    import torch

    from harness.dsl.schema import InputsSpec, ModelSpec

# (inputs spec, config, torch generator) -> batch of tensors on CPU
InputBuilder = Callable[["InputsSpec", Any, "torch.Generator"], dict[str, "torch.Tensor"]]
Batch = dict[str, Any]


class Unsupported(Exception):
    """The installed stack lacks something the harness itself needs: the variant is skipped."""


@dataclass(frozen=True)
class Task:
    model_class: str
    inputs: InputBuilder
    peft_task_type: str | None = None
    # The float input that `inputs.requires_grad` makes require grad ("inputs_embeds" is built
    # from input_ids through the model's own embedding).
    grad_input: str = "inputs_embeds"
    # How the Trainer's dataset is cut into examples and put back together by its collator
    # (layouts that flatten every image's patches into one tensor need their own).
    rows: Callable[[Batch], list[Batch]] = field(default_factory=lambda: _default_rows)
    collate: Callable[[list[Batch]], Batch] = field(default_factory=lambda: _default_collate)


def _default_rows(batch: Batch) -> list[Batch]:
    from harness.families import _inputs

    return _inputs.split_rows(batch)


def _default_collate(rows: list[Batch]) -> Batch:
    from harness.families import _inputs

    return _inputs.stack_rows(rows)


# Parameter-name patterns that place a parameter in a sub-model, for the gradient breakdown.
DEFAULT_GROUPS: tuple[tuple[str, str], ...] = (
    (r"vision|visual|image|pixel|patch_embed", "vision"),
    (r"(^|\.)encoder\.", "encoder"),
    (r"(^|\.)decoder\.", "decoder"),
)

# Encoder-only classifiers: the classification head (always trainable under peft's
# modules_to_save) apart from the encoder body whose adapters it feeds.
ENCODER_CLASSIFIER_GROUPS: tuple[tuple[str, str], ...] = (
    (r"(^|\.)(classifier|pooler)\.", "head"),
    (r"(^|\.)encoder\.", "encoder"),
)


# Config keys that set a stack's depth, in the spellings of the config classes.
LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "encoder_layers", "decoder_layers")


@dataclass(frozen=True)
class Family(Plugin):
    # field(): Plugin's class attribute `name = ""` would otherwise become this field's default
    name: str = field()
    config_class: str
    tiny: Mapping[str, Any]
    tasks: Mapping[str, Task]
    targets: Mapping[str, list[str]]
    feedforward: list[str] = field(default_factory=list)
    groups: tuple[tuple[str, str], ...] = DEFAULT_GROUPS
    default_group: str = "text"
    # Builds the config when sub-configs need real objects (vision-language models).
    make_config: Callable[[Any, dict[str, Any]], Any] | None = None
    # Keys of `tiny` (dotted for a sub-config: "text_config.bos_token_id") that are not sizes
    # yet differ from the config class's defaults, each with why. Nothing else may differ.
    deliberate: Mapping[str, str] = field(default_factory=dict)
    # Simplicity order for shrinking found failures: the lowest rank is tried first.
    explore_rank: int = 100
    # Whether the family builds whatever `model.architecture` names (required by it, refused elsewhere).
    takes_architecture: ClassVar[bool] = False

    def depth(self, layers: int) -> dict[str, Any]:
        """model.config overrides giving the tiny model ``layers`` layers per stack."""
        keys = [key for key in LAYER_KEYS if key in self.tiny]
        if keys:
            return dict.fromkeys(keys, layers)
        text = self.tiny.get("text_config")  # vision-language models: the language model's depth
        if isinstance(text, Mapping) and "num_hidden_layers" in text:
            return {"text_config": {"num_hidden_layers": layers}}
        return {}

    @property
    def default_task(self) -> str:
        return next(iter(self.tasks))

    def check_spec(self, spec: ModelSpec) -> None:
        """What this family checks of `model:` when a scenario loads, beyond its task (no torch)."""

    def check_task(self, task: str) -> str:
        if task not in self.tasks:
            hint = choices_hint(task, self.tasks)
            raise UnknownName(f"unknown task '{task}' for family '{self.name}' ({hint})")
        return task

    def task(self, spec: ModelSpec) -> Task:
        return self.tasks[self.check_task(spec.task or self.default_task)]

    def target_modules(self, spec: ModelSpec, group: str) -> list[str] | str:
        """What a method adapts by default: the ``group`` ("attention", "mlp", "all") of targets.

        A family whose modules depend on the architecture (auto) finds them in the built model."""
        return self.targets[group]

    def feedforward_modules(self, spec: ModelSpec) -> list[str]:
        return list(self.feedforward)

    def group_of(self, parameter_name: str) -> str:
        for pattern, group in self.groups:
            if re.search(pattern, parameter_name):
                return group
        return self.default_group

    def config(self, spec: ModelSpec) -> Any:
        transformers = _transformers()
        config_class = getattr(transformers, self.config_class, None)
        if config_class is None:
            raise Unsupported(
                f"transformers {transformers.__version__} has no {self.config_class} (family '{self.name}')"
            )
        values = {**self.tiny, **spec.config}
        if self.make_config is not None:
            return self.make_config(transformers, values)
        return config_class(**values)

    def model_class(self, spec: ModelSpec) -> Any:
        transformers = _transformers()
        name = self.task(spec).model_class
        model_class = getattr(transformers, name, None)
        if model_class is None:
            raise Unsupported(f"transformers {transformers.__version__} has no {name} (family '{self.name}')")
        return model_class

    # -- the build point: the pipeline's action and the repro script's code for it -------------

    def on_build(self, stage: Stage) -> None:
        """The tiny model from its config class (unless a model hook built it) and its batch."""
        import torch

        spec = stage.scenario.model
        if stage.model is None:
            stage.model = self.instantiate(spec)
        self.after_build(stage)
        if stage.batch is None:
            generator = torch.Generator().manual_seed(spec.seed)
            stage.batch = self.task(spec).inputs(stage.scenario.inputs, stage.model.config, generator)

    def instantiate(self, spec: ModelSpec) -> Any:
        """The model with random weights, built as users build one from a config."""
        config = self.config(spec)
        model_class = self.model_class(spec)
        extra = {"attn_implementation": spec.attn_implementation} if spec.attn_implementation else {}
        return model_class._from_config(config, **extra) if extra else model_class(config)

    def after_build(self, stage: Stage) -> None:
        """What a family notes about the built model before the batch is made (nothing by default)."""

    def emit_build(self, scene: Scene) -> str:
        from harness.report.repro.inline import Call, Recorder, literal

        spec = scene.scenario.model
        task = self.task(spec)
        lines = []
        if not spec.hook:
            values = {**self.tiny, **spec.config}
            config = self.make_config(Recorder("transformers"), values) if self.make_config else None
            if not isinstance(config, Call):
                config = Call("transformers", self.config_class, values)
            model = f"transformers.{task.model_class}(config)"
            if spec.attn_implementation:
                attention = f"attn_implementation={spec.attn_implementation!r}"
                model = f"transformers.{task.model_class}._from_config(config, {attention})"
            lines += [
                f"    # a tiny {self.name} ({task.model_class}) from its config class: random weights, no download",
                f"    require(transformers, {literal(self.config_class)}, {literal(task.model_class)})",
                f"    config = {literal(config, 4)}",
                f"    model = {model}",
            ]
        lines += [
            "    if batch is None:",
            "        generator = torch.Generator().manual_seed(SEED)",
            f"        batch = {task.inputs.__name__}(INPUTS, model.config, generator)",
        ]
        return "\n".join(lines)


def _transformers() -> Any:
    import transformers

    return transformers


def decoder_family(
    name: str,
    config_class: str,
    prefix: str,
    tiny: Mapping[str, Any],
    *,
    attention: list[str],
    mlp: list[str],
    feedforward: list[str] | None = None,
    classification: bool = True,
    causal_lm_class: str | None = None,
    groups: tuple[tuple[str, str], ...] = DEFAULT_GROUPS,
    deliberate: Mapping[str, str] | None = None,
    explore_rank: int = 100,
) -> Family:
    """A decoder-only LM: causal-lm (and sequence classification) heads share one recipe."""
    from harness.families import _inputs

    causal_lm = causal_lm_class or f"{prefix}ForCausalLM"
    tasks = {"causal-lm": Task(causal_lm, _inputs.causal_lm, "CAUSAL_LM")}
    if classification:
        tasks["seq-cls"] = Task(f"{prefix}ForSequenceClassification", _inputs.classification, "SEQ_CLS")
    return Family(
        name=name,
        config_class=config_class,
        tiny=tiny,
        tasks=tasks,
        targets={"attention": attention, "mlp": mlp, "all": [*attention, *mlp]},
        feedforward=feedforward or mlp[-1:],
        groups=groups,
        deliberate=deliberate or {},
        explore_rank=explore_rank,
    )


# Sizes shared by the families: small enough for ~ms steps, big enough for every method (GQA
# needs heads > kv heads) and for bitsandbytes, whose 4-bit blocks are 64 wide: narrower layers
# take code paths no real model takes.
# Special token ids stay the config class's own where the tiny vocabulary holds them; a family
# whose default ids lie beyond it maps them into 0-2 (a deliberate difference, listed), keeping
# which of them coincide. _inputs draws ordinary text tokens from 3 up.
TINY_VOCABULARY = {"vocab_size": 128}
# The common layout, in the parameter names most configs use.
TINY_LAYOUT = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 64,
}
TINY_DECODER = {**TINY_VOCABULARY, **TINY_LAYOUT, "num_key_value_heads": 2}


def encoder_classifier_family(
    name: str,
    config_class: str,
    prefix: str,
    tiny: Mapping[str, Any],
    *,
    attention: list[str],
    explore_rank: int = 100,
) -> Family:
    """A BERT-style encoder: sequence and token classification heads share one recipe."""
    from harness.families import _inputs

    # `output.dense` also matches the attention output projection; peft's own IA3 defaults use
    # the same suffix, so "mlp" here means what users get from peft.
    mlp = ["intermediate.dense", "output.dense"]
    return Family(
        name=name,
        config_class=config_class,
        tiny=tiny,
        tasks={
            "seq-cls": Task(f"{prefix}ForSequenceClassification", _inputs.classification, "SEQ_CLS"),
            "token-cls": Task(f"{prefix}ForTokenClassification", _inputs.token_classification, "TOKEN_CLS"),
        },
        targets={"attention": attention, "mlp": mlp, "all": [*attention, *mlp]},
        feedforward=["output.dense"],
        groups=ENCODER_CLASSIFIER_GROUPS,
        explore_rank=explore_rank,
    )
