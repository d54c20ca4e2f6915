"""The auto family: a tiny model of any architecture in transformers' auto mappings.

``model: {family: auto, architecture: llama, task: causal-lm}`` (a model type or a config class
name) builds the head the task's auto mapping names for that architecture, from its config class
with every size field shrunk and every other default kept (harness/families/_auto_shrink.py), and
feeds it a batch derived from the config (harness/families/_auto_inputs.py). Adapter targets come
from the built model's own linear layers, by role: the query and value projections (or the fused
attention projection) for "attention", the other linears of the blocks for "mlp", every linear
but the output head for "all". On a multimodal model fed a text-only batch, the towers the batch
never reaches are left out (a regular expression then), so an untouched vision tower is not
reported as an adapter without gradients.

An architecture that cannot be built tiny (its config class refuses the tiny sizes, its model
class refuses the config, a special id beyond any tiny vocabulary) is ``skipped`` with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.families import _auto_arch, _auto_inputs
from harness.families._base import DEFAULT_GROUPS, Family, Task, Unsupported
from harness.plugin import Scene, Stage

if TYPE_CHECKING:
    from harness.dsl.schema import ModelSpec

BUILDERS = {
    "causal-lm": _auto_inputs.auto_causal_lm,
    "seq2seq-lm": _auto_inputs.auto_seq2seq,
    "seq-cls": _auto_inputs.auto_classification,
    "token-cls": _auto_inputs.auto_token_classification,
    "speech-seq2seq": _auto_inputs.auto_speech_seq2seq,
    "image-text-to-text": _auto_inputs.auto_image_text,
}
# The auto class a user builds each head with: from_config picks the concrete class and, for a
# composite config whose causal-LM class takes the text sub-config (qwen3_5, llama4, ...), passes
# that sub-config, as from_pretrained does.
AUTO_CLASSES = {
    "causal-lm": "AutoModelForCausalLM",
    "seq2seq-lm": "AutoModelForSeq2SeqLM",
    "seq-cls": "AutoModelForSequenceClassification",
    "token-cls": "AutoModelForTokenClassification",
    "speech-seq2seq": "AutoModelForSpeechSeq2Seq",
    "image-text-to-text": "AutoModelForImageTextToText",
}
GRAD_INPUTS = {"speech-seq2seq": "input_features", "image-text-to-text": "inputs_embeds"}
TEXT_ONLY_TASKS = {"causal-lm", "seq2seq-lm", "seq-cls", "token-cls"}

# Roles of linear layers, by their own (last) name, in the spellings transformers' models use.
QUERY = re.compile(r"^(q|q_proj|query|q_lin|wq|query_proj|to_q|linear_q|q_b_proj|q_a_proj|q_attn)$")
VALUE = re.compile(r"^(v|v_proj|value|v_lin|wv|value_proj|to_v|linear_v|kv_b_proj|kv_proj|c_attn_kv)$")
FUSED = re.compile(r"^(qkv|qkv_proj|query_key_value|c_attn|Wqkv|W_pack|qkv_linear|att_proj|wqkv|qkv_lin)$")
ATTENTION_PATH = re.compile(r"(attn|attention|self_att)", re.IGNORECASE)
ATTENTION_OUTPUT = re.compile(r"^(o|o_proj|out_proj|dense|c_proj|wo|out_lin|proj|output|o_lin|to_out)$")
DOWN_PROJECTION = re.compile(r"^(down_proj|fc2|wo|w2|c_proj|dense_4h_to_h|fc_out|output|out_proj|mlp_out)$")
# Where a multimodal model keeps the towers a text-only batch never reaches.
TOWERS = r"vision|visual|image|img|audio|speech|sound|pixel|patch_embed|multi_modal_projector|mm_projector"
# Linears whose weight a state-space scan reads directly (never called as a module).
READ_DIRECTLY = re.compile(r"^(dt_proj)$")
# Sparse attention's key selection (DeepSeek-V3.2/V4 style): an indexer's top-k is no path for
# gradients, and a compressor summarizes blocks of keys longer than a tiny batch: no gradient
# reaches either from the loss, by design, so the main attention's projections are the targets.
KEY_SELECTION = r"\.indexer\.|\.compressor\."
# A byte-level model's entropy patcher (BLT): its output only places patch boundaries (a threshold,
# no gradient path to the loss), so adapters there never get a gradient, by design.
PATCHER = r"\.patcher\."
# A decoder's attention over the encoder's output, in the spellings transformers' models use.
CROSS_ATTENTION = r"encoder_attn|cross_attn|crossattention|cross_attention|EncDecAttention|enc_dec_attn"
# Heads peft's own "all-linear" leaves out, and ours too.
HEADS = re.compile(r"^(lm_head|classifier|score|qa_outputs|cls|head|output_layer|embed_out|proj_out|logits)$")

# (architecture, task, config overrides) -> targets per group and how they were chosen; filled
# when a variant builds its model, or from a model on the meta device where none was built
# (exporting a repro script)
_TARGETS: dict[str, dict[str, Any]] = {}


def _key(spec: ModelSpec) -> str:
    return json.dumps([spec.architecture, spec.task, spec.config], sort_keys=True, default=str)


def linear_layers(model: Any) -> list[str]:
    """Names of the layers peft can adapt as linear (torch's Linear, transformers' Conv1D)."""
    import torch

    kinds: tuple[type, ...] = (torch.nn.Linear,)
    try:
        from transformers.pytorch_utils import Conv1D

        kinds += (Conv1D,)
    except ImportError:
        pass
    return [name for name, module in model.named_modules() if name and isinstance(module, kinds)]


def choose_targets(names: list[str], text_only: bool, decoder_only: bool = False) -> dict[str, Any]:
    """Targets per group, from the model's own linear layers, and how they were chosen.

    ``decoder_only``: the causal-LM head of an encoder-decoder architecture (BartForCausalLM, ...)
    keeps its decoder's cross-attention, which no encoder output ever reaches without an encoder:
    those layers are left out, as the towers a text-only batch never reaches are.
    """
    bodies = [n for n in names if not HEADS.match(n.rsplit(".", 1)[-1])]
    excluded: list[str] = []
    notes: list[str] = []
    towers = [n for n in bodies if re.search(TOWERS, n)]
    if text_only and towers and len(towers) < len(bodies):
        excluded.append(TOWERS)
        notes.append("of the text model (the batch has no image or audio)")
    selecting = [n for n in bodies if re.search(KEY_SELECTION, n)]
    if selecting and len(selecting) < len(bodies):
        excluded.append(KEY_SELECTION)
        notes.append("outside the sparse attention's key selection (indexer, compressor)")
    patching = [n for n in bodies if re.search(PATCHER, n)]
    if patching and len(patching) < len(bodies):
        excluded.append(PATCHER)
        notes.append("outside the entropy patcher (it only places patch boundaries)")
    crossing = [n for n in bodies if re.search(CROSS_ATTENTION, n)]
    if decoder_only and crossing and len(crossing) < len(bodies):
        excluded.append(CROSS_ATTENTION)
        notes.append("outside the cross-attention (a causal LM has no encoder output)")
    if excluded:
        bodies = [n for n in bodies if not any(re.search(pattern, n) for pattern in excluded)]
    leaves = sorted({n.rsplit(".", 1)[-1] for n in bodies})
    query = [leaf for leaf in leaves if QUERY.match(leaf)]
    value = [leaf for leaf in leaves if VALUE.match(leaf)]
    fused = [leaf for leaf in leaves if FUSED.match(leaf)]
    if query and value:
        attention, role = query + value, "query and value projections"
    elif fused:
        attention, role = fused + value, "fused attention projection"
    else:
        inside = sorted({n.rsplit(".", 1)[-1] for n in bodies if ATTENTION_PATH.search(n)})
        attention = [leaf for leaf in inside if not ATTENTION_OUTPUT.match(leaf)] or inside
        role = "linears of the attention blocks" if attention else ""
    mlp = [leaf for leaf in leaves if leaf not in attention and not ATTENTION_OUTPUT.match(leaf)]
    mlp = mlp or [leaf for leaf in leaves if leaf not in attention]
    if not attention:
        # no attention at all (state-space and recurrent models): the blocks' input-side linears
        # stand in, as peft's Mamba example targets them (peft refuses LoRA on a Mamba block's
        # out_proj; Mamba's scan reads dt_proj.weight directly, so an adapter there is never run)
        inputs = [
            leaf
            for leaf in leaves
            if not (ATTENTION_OUTPUT.match(leaf) or DOWN_PROJECTION.match(leaf) or READ_DIRECTLY.match(leaf))
        ]
        attention, role = inputs or leaves, "no attention projections: the blocks' input-side linears"
    groups: dict[str, Any] = {"attention": attention, "mlp": mlp or attention, "all": "all-linear"}
    if excluded:
        # the same leaf names sit in the excluded modules: only the others', by a full-name pattern
        left_out = "|".join(excluded)
        for group in ("attention", "mlp"):
            alternatives = "|".join(re.escape(leaf) for leaf in groups[group])
            groups[group] = rf"^(?!.*({left_out})).*\.({alternatives})$"
        alternatives = "|".join(re.escape(leaf) for leaf in leaves)
        groups["all"] = rf"^(?!.*({left_out})).*\.({alternatives})$"
        role += " " + " and ".join(notes)
    feedforward = [leaf for leaf in mlp if DOWN_PROJECTION.match(leaf)] or mlp[-1:]
    return {"groups": groups, "feedforward": feedforward, "role": role, "linears": len(names)}


@dataclass(frozen=True)
class AutoFamily(Family):
    """Any architecture of the installed transformers, chosen by ``model.architecture``."""

    takes_architecture = True

    def check_spec(self, spec: ModelSpec) -> None:
        check_architecture(spec.architecture or "", spec.task)

    def names(self, spec: ModelSpec) -> tuple[str, str, str]:
        """(model type, config class, model class) of the spec's architecture and task."""
        architecture = spec.architecture or ""
        task = self.check_task(spec.task or self.default_task)
        classes = _auto_arch.config_classes() or _imported_config_classes()
        model_type = _auto_arch.model_type_of(architecture, classes)
        if model_type is None:
            raise Unsupported(f"the installed transformers has no architecture '{architecture}'")
        heads = _auto_arch.model_types(task) or _imported_model_types(task)
        if model_type not in heads:
            raise Unsupported(f"{classes[model_type]} has no {task} head in transformers' auto mappings")
        return model_type, classes[model_type], heads[model_type]

    def task(self, spec: ModelSpec) -> Task:
        base = self.tasks[self.check_task(spec.task or self.default_task)]
        return dataclasses.replace(base, model_class=self.names(spec)[2])

    def config(self, spec: ModelSpec) -> Any:
        from harness.families._auto_shrink import CannotShrink, tiny_config_kwargs

        transformers = _transformers()
        _, config_name, _ = self.names(spec)
        config_class = getattr(transformers, config_name, None)
        if config_class is None:
            raise Unsupported(f"transformers {transformers.__version__} does not export {config_name}")
        try:
            values = merge(tiny_config_kwargs(config_name), spec.config)
            return config_class(**values)
        except CannotShrink as exc:
            raise Unsupported(f"{config_name} cannot be made tiny: {exc}") from exc
        except Exception as exc:  # the config class refuses its own defaults with tiny sizes
            raise Unsupported(
                f"{config_name} refuses the tiny sizes: {type(exc).__name__}: {_first_line(exc)}"
            ) from exc

    def tiny_kwargs(self, spec: ModelSpec) -> dict[str, Any]:
        from harness.families._auto_shrink import tiny_config_kwargs

        return merge(tiny_config_kwargs(self.names(spec)[1]), spec.config)

    def depth(self, layers: int) -> dict[str, Any]:
        return {}  # the layer keys differ per architecture; the tiny config has two per stack

    def target_modules(self, spec: ModelSpec, group: str) -> list[str] | str:
        return self.chosen(spec)["groups"][group]

    def feedforward_modules(self, spec: ModelSpec) -> list[str]:
        return list(self.chosen(spec)["feedforward"])

    def chosen(self, spec: ModelSpec) -> dict[str, Any]:
        """The targets found in this variant's model (or in the same model on the meta device)."""
        key = _key(spec)
        if key not in _TARGETS:
            import torch

            config = self.config(spec)
            with torch.device("meta"):
                model = self.auto_class(spec).from_config(config)
            _TARGETS[key] = self.targets_of(spec, model)
        return _TARGETS[key]

    def default_fails_too(self, spec: ModelSpec, refused: BaseException) -> str:
        """Whether the class's own default config fails the same way (on the meta device: no memory),
        so the reason tells a tiny-size problem from a head that its defaults cannot build."""
        import torch

        config_class = getattr(_transformers(), self.names(spec)[1])
        try:
            with torch.device("meta"):
                self.auto_class(spec).from_config(config_class())
        except Exception as exc:  # any failure is the comparison
            if type(exc) is type(refused):
                return " (the class's own default config fails the same way: not a tiny-size problem)"
            return ""
        return ""

    def auto_class(self, spec: ModelSpec) -> Any:
        return getattr(_transformers(), AUTO_CLASSES[self.check_task(spec.task or self.default_task)])

    def targets_of(self, spec: ModelSpec, model: Any) -> dict[str, Any]:
        task = spec.task or self.default_task
        return choose_targets(linear_layers(model), task in TEXT_ONLY_TASKS, decoder_only=task == "causal-lm")

    # -- the build point ------------------------------------------------------------------------

    def instantiate(self, spec: ModelSpec) -> Any:
        config = self.config(spec)
        extra = {"attn_implementation": spec.attn_implementation} if spec.attn_implementation else {}
        try:
            return self.auto_class(spec).from_config(config, **extra)
        except Exception as exc:  # the model class refuses the tiny config: ours to fix, not a finding
            raise Unsupported(
                f"{self.model_class(spec).__name__} cannot be built from the tiny config: "
                f"{type(exc).__name__}: {_first_line(exc)}{self.default_fails_too(spec, exc)}"
            ) from exc

    def after_build(self, stage: Stage) -> None:
        """Note the adapter targets chosen from the built model's own linears (a hook's model too)."""
        spec = stage.scenario.model
        chosen = self.targets_of(spec, stage.model)
        _TARGETS[_key(spec)] = chosen
        stage.effective["auto_targets"] = {
            "role": chosen["role"],
            "attention": chosen["groups"]["attention"],
            "linears": chosen["linears"],
        }

    def emit_build(self, scene: Scene) -> str:
        from harness.report.repro.inline import Call, literal

        spec = scene.scenario.model
        task = self.task(spec)
        _, config_name, model_name = self.names(spec)
        lines = []
        if not spec.hook:
            config = Call("transformers", config_name, self.tiny_kwargs(spec))
            auto_name = AUTO_CLASSES[spec.task or self.default_task]
            model = f"transformers.{auto_name}.from_config(config)"
            if spec.attn_implementation:
                attention = f"attn_implementation={spec.attn_implementation!r}"
                model = f"transformers.{auto_name}.from_config(config, {attention})"
            lines += [
                f"    # a tiny {spec.architecture} ({model_name}) from {config_name}: every size field shrunk,",
                "    # every other field the class's default; random weights, no download",
                f"    require(transformers, {literal(config_name)}, {literal(model_name)})",
                f"    config = {literal(config, 4)}",
                f"    model = {model}",
            ]
        lines += [
            "    if batch is None:",
            "        generator = torch.Generator().manual_seed(SEED)",
            f"        batch = {task.inputs.__name__}(INPUTS, model.config, generator)",
        ]
        return "\n".join(lines)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` over ``base``, sub-config dicts merged key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _first_line(exc: BaseException) -> str:
    """The message's first line, and the next one where the first only announces it (validators)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()] or [""]
    text = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]
    return text[:300]


def _transformers() -> Any:
    import transformers

    return transformers


def _imported_config_classes() -> dict[str, str]:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return dict(CONFIG_MAPPING_NAMES)


def _imported_model_types(task: str) -> dict[str, str]:
    from transformers.models.auto import modeling_auto

    found = getattr(modeling_auto, _auto_arch.TASK_MAPPINGS[task], {})
    return {k: v for k, v in found.items() if isinstance(v, str)}


FAMILY = AutoFamily(
    name="auto",
    config_class="",
    tiny={},
    tasks={
        task: Task("", builder, _auto_arch.PEFT_TASK_TYPES[task], grad_input=GRAD_INPUTS.get(task, "inputs_embeds"))
        for task, builder in BUILDERS.items()
    },
    targets={},
    groups=(*DEFAULT_GROUPS, (r"audio|speech", "audio")),
    explore_rank=1000,
)


def check_architecture(architecture: str, task: str | None) -> str:
    """Validation without torch: the architecture and its head exist in the installed transformers
    (read from its source); unknown names get a did-you-mean. Unreadable mappings: left to the run."""
    from harness.errors import did_you_mean
    from harness.registry import UnknownName

    classes = _auto_arch.config_classes()
    if not classes:
        return architecture
    model_type = _auto_arch.model_type_of(architecture, classes)
    if model_type is None:
        suggestion = did_you_mean(architecture, [*classes, *classes.values()])
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        raise UnknownName(
            f"unknown architecture '{architecture}': not a model type or config class of the installed"
            f" transformers ({len(classes)} known{hint}); a scenario for an architecture newer than some"
            " stacks says so with `requires: {transformers: '>=<the release that added it>'}`"
        )
    task = task or _auto_arch.DEFAULT_TASK
    heads = _auto_arch.model_types(task)
    if heads and model_type not in heads:
        others = [t for t in _auto_arch.TASK_MAPPINGS if model_type in _auto_arch.model_types(t)]
        raise UnknownName(
            f"architecture '{architecture}' has no {task} head in the installed transformers"
            f" (its tasks: {', '.join(others) or 'none the auto family builds'})"
        )
    return architecture


def preload_architectures(models: Iterable[tuple[str, str]]) -> None:
    """Names, modeling modules and tiny configs of these (architecture, task) pairs, computed in the
    warm supervisor before it forks: every child of a sweep inherits them instead of redoing them.
    An architecture that fails here fails again in its own child, where it is recorded."""
    from harness.dsl.schema import ModelSpec
    from harness.families._auto_shrink import tiny_config_kwargs

    _auto_arch.mappings()
    for architecture, task in models:
        try:
            spec = ModelSpec.model_validate({"family": "auto", "architecture": architecture, "task": task or None})
            _, config_name, _ = FAMILY.names(spec)
            FAMILY.model_class(spec)
            tiny_config_kwargs(config_name)
        except Exception:
            continue
