"""The scenario schema: what one YAML file may say, validated by pydantic.

A scenario file is a :class:`ScenarioFile`; expanding its ``vary``/``cases`` blocks yields one
resolved :class:`Scenario` per variant. Every section has defaults, so the smallest scenario is::

    id: lora-smoke
    description: LoRA on a tiny Llama trains
    model: {family: llama}
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness import outcomes, predicates
from harness.checkpointing import PATHS
from harness.distributed import LAUNCHERS, STRATEGIES
from harness.distributed.options import DeepSpeedOptions, FsdpOptions
from harness.dsl import conditions
from harness.families import FAMILIES
from harness.methods import METHODS
from harness.quantization import BACKENDS

# From the one outcome table (harness/outcomes.py); cell outcomes: the stack never ran a scenario.
Outcome = Literal[outcomes.SCENARIO_OUTCOMES]  # type: ignore[valid-type]
OUTCOMES: tuple[str, ...] = outcomes.SCENARIO_OUTCOMES
CellOutcome = Literal[outcomes.CELL_OUTCOMES]  # type: ignore[valid-type]
CELL_OUTCOMES: tuple[str, ...] = outcomes.CELL_OUTCOMES

Phase = Literal[
    "build",
    "quantize",
    "prepare",
    "enable-checkpointing",
    "attach",
    "setup",
    "forward",
    "backward",
    "step",
]
PHASES: tuple[str, ...] = Phase.__args__  # type: ignore[attr-defined]

Dtype = Literal["float32", "bfloat16", "float16"]
ShortDtype = Literal["fp32", "bf16", "fp16"]
# precision.dtype -> the torch dtype's name: the one table every module reads
TORCH_DTYPES: dict[str, str] = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}

SCENARIO_ID = r"^[a-z0-9][a-z0-9._-]*$"
HOOK_REF = r"^[A-Za-z_][\w./-]*(\.py)?:[A-Za-z_]\w*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


class ModelSpec(Strict):
    """The tiny model: family and task, config overrides and how attention is computed."""

    family: Annotated[str, Field(json_schema_extra={"enum": FAMILIES.names()})]
    task: str | None = Field(None, description="model head; defaults to the family's first task")
    config: dict[str, Any] = Field(default_factory=dict, description="overrides of the tiny config")
    attn_implementation: str | None = Field(None, description="eager, sdpa, ... (None: library default)")
    seed: int = 0
    hook: Annotated[str | None, Field(pattern=HOOK_REF)] = Field(
        None, description="module:function building a custom model; see README"
    )
    architecture: str | None = Field(
        None, description="family auto: a model type (llama) or config class (LlamaConfig) of transformers"
    )

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str) -> str:
        return FAMILIES.check(value)

    @model_validator(mode="after")
    def _known_task(self, info: ValidationInfo) -> ModelSpec:
        if self.task is not None:
            FAMILIES[self.family].check_task(self.task)
        takes = [name for name in FAMILIES.names() if FAMILIES[name].takes_architecture]
        if FAMILIES[self.family].takes_architecture != (self.architecture is not None):
            raise ValueError(
                f"model.architecture is what family {' / '.join(takes)} builds, and only it: set both or neither"
            )
        # a scenario whose `requires:` this stack lacks is recorded skipped, never built: its model
        # (an architecture newer than the installed transformers) is not checked against this stack
        if not (info.context or {}).get(STACK_LACKS_REQUIREMENTS):
            FAMILIES[self.family].check_spec(self)
        return self


class PeftSpec(Strict):
    """The adapter: which method, how it is attached, and its config passed through verbatim."""

    method: Annotated[str, Field(json_schema_extra={"enum": METHODS.names()})] = "lora"
    attach: Literal["get_peft_model", "add_adapter"] = "get_peft_model"
    target_modules: list[str] | str | None = Field(
        None, description="explicit targets; None takes the family's defaults for the method"
    )
    init: Literal["non-identity", "library"] = Field(
        "non-identity",
        description="non-identity makes every adapter weight receive a gradient (LoRA's B=0 would not)",
    )
    config: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments for the peft config class, passed verbatim"
    )
    wrap_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="extra keyword arguments for get_peft_model / add_adapter, e.g. autocast_adapter_dtype",
    )

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        return METHODS.check(value)


class QuantizationSpec(Strict):
    """The backend and peft's prepare call; every other field belongs to the backend.

    A backend's own fields (``quant_type`` for bnb-4bit, ``weights`` for quanto) sit beside
    ``backend`` and are validated by the backend's ``Options`` (harness/quantization/<backend>.py);
    the resolved scenario keeps them flat, with the backend's defaults filled in.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    backend: Annotated[str, Field(json_schema_extra={"enum": BACKENDS.names()})] = "none"
    prepare: Literal["prepare_model_for_kbit_training", "prepare_model_for_int8_training"] | None = None
    prepare_kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _backend_options(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        name = value.get("backend", "none")
        if not isinstance(name, str) or name not in BACKENDS:
            return value  # the field validator names the valid backends
        own = {key: value[key] for key in value if key not in cls.model_fields}
        options_class = BACKENDS[name].Options
        unknown = sorted(set(own) - set(options_class.model_fields))
        if unknown:
            valid = ", ".join(sorted(options_class.model_fields)) or "none"
            raise ValueError(f"backend '{name}' has no option {', '.join(map(repr, unknown))} (its options: {valid})")
        try:
            options = options_class.model_validate(own)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"backend '{name}': {problems}") from None
        return {**{k: v for k, v in value.items() if k in cls.model_fields}, **options.model_dump()}

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        return BACKENDS.check(value)

    @property
    def options(self) -> dict[str, Any]:
        """The backend's own fields (validated; defaults filled in)."""
        return dict(self.model_extra or {})

    @classmethod
    def entry_fields(cls) -> set[str]:
        """Every field some registered backend has (valid in a limit's scope)."""
        return {name for backend in BACKENDS.names() for name in BACKENDS[backend].Options.model_fields}


class CheckpointingSpec(Strict):
    """Gradient checkpointing: whether, through which path, and in which mode."""

    enabled: bool = False
    via: Annotated[str, Field(json_schema_extra={"enum": PATHS.names()})] = "before-wrap"
    use_reentrant: bool | None = Field(None, description="None leaves it unset (library default)")
    api: Literal["auto", "gradient_checkpointing_enable", "activation_checkpointing_enable"] = Field(
        "auto", description="auto calls whichever name the installed transformers has (the newer first)"
    )
    input_require_grads: bool | None = Field(
        None, description="call enable_input_require_grads (True) or disable_input_require_grads (False)"
    )
    kwargs: dict[str, Any] = Field(default_factory=dict, description="extra checkpoint() keyword arguments")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `checkpointing: true` / `checkpointing: off` read naturally in a scenario.
        if isinstance(value, bool):
            return {"enabled": value}
        return value

    @field_validator("via")
    @classmethod
    def _known_path(cls, value: str) -> str:
        return PATHS.check(value)


class DistributedSpec(Strict):
    """Several processes training one model: the strategy, the ranks and how they are started."""

    strategy: Annotated[str, Field(json_schema_extra={"enum": STRATEGIES.names()})] = Field(
        "none", description="none, ddp, fsdp (FullyShardedDataParallel), fsdp2 (fully_shard) or deepspeed"
    )
    world_size: int = Field(2, ge=1, le=8, description="number of ranks")
    launcher: Literal[LAUNCHERS] = Field(  # type: ignore[valid-type]
        "inline",
        description="inline: ranks forked from the warm worker (CPU) or spawned (CUDA); torchrun / accelerate: "
        "fresh interpreters started by `torchrun` / `accelerate launch`",
    )
    backend: Literal["auto", "gloo", "nccl"] = Field("auto", description="auto: gloo on CPU, nccl on CUDA")
    find_unused_parameters: bool | None = Field(
        None,
        description="ddp: DDP(find_unused_parameters=...) in a manual loop, TrainingArguments."
        "ddp_find_unused_parameters under the Trainer; None leaves the library's choice",
    )
    static_graph: bool = Field(False, description="ddp: DDP(static_graph=True) / ddp_static_graph")
    fsdp: FsdpOptions = Field(default_factory=FsdpOptions, description="fsdp / fsdp2 only")
    deepspeed: DeepSpeedOptions = Field(default_factory=DeepSpeedOptions, description="deepspeed only")

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        return STRATEGIES.check(value)

    @model_validator(mode="after")
    def _options_of_the_strategy(self) -> DistributedSpec:
        owners: dict[str, list[str]] = {}  # option -> the strategies whose own option it is
        for strategy in STRATEGIES.names():
            for option in STRATEGIES[strategy].own_options:
                owners.setdefault(option, []).append(strategy)
        for name, strategies in owners.items():
            # compared with the default, not by presence: a resolved scenario dumped and read back sets all
            default = type(self).model_fields[name].get_default(call_default_factory=True)
            if getattr(self, name) != default and self.strategy not in strategies:
                raise ValueError(
                    f"distributed.{name} applies to strategy {' / '.join(strategies)}, not '{self.strategy}'"
                )
        return self


class PrecisionSpec(Strict):
    dtype: ShortDtype = "fp32"
    mode: Literal["weights", "autocast"] = Field(
        "weights", description="weights: the model is loaded in dtype; autocast: fp32 weights, autocast"
    )
    grad_scaler: bool = False


class InputsSpec(Strict):
    batch_size: int = Field(2, ge=1, le=64)
    seq_len: int = Field(8, ge=1, le=512)
    token_ids: list[list[int]] | None = Field(None, description="explicit input ids (batch x seq)")
    requires_grad: bool = Field(False, description="floating inputs (embeddings, audio features, pixels) require grad")
    labels: bool = True


class StepsSpec(Strict):
    train_steps: int = Field(1, ge=1, le=50)
    runner: Literal["manual", "trainer"] | None = Field(
        None, description="manual loop or transformers.Trainer (default: trainer iff checkpointing via trainer)"
    )
    optimizer: Literal["adamw", "sgd", "none"] = "adamw"
    lr: float = Field(1e-3, gt=0)
    repeat_forward: bool = Field(False, description="run the forward twice before one backward")
    retain_graph: bool = Field(False, description="the first backward passes retain_graph=True")
    second_backward: bool = Field(False, description="backward the first step's loss a second time")
    hook: Annotated[str | None, Field(pattern=HOOK_REF)] = Field(
        None, description="module:function replacing the training loop; see README"
    )


class ChecksSpec(Strict):
    """Correctness checks, all on by default; each can be switched off (false / null) per scenario.

    The outcome checks look at what training did; the intent checks compare what the scenario asked
    for with what took effect; the oracles compare against a reference computation (a run with
    checkpointing off, the unquantized layer). None of them adds a call on the model under test.
    """

    gradients: Literal["all", "any", "off"] = Field(
        "all", description="trainable parameters that must receive a non-zero gradient"
    )
    finite: bool = Field(True, description="loss and gradients must be finite")
    update: bool = Field(True, description="an optimizer step must change the trainable parameters")
    checkpointing_active: bool = Field(
        True, description="checkpointing asked for must be on (is_gradient_checkpointing) and run in the forward"
    )
    checkpoint_impl: bool = Field(
        True,
        description="the checkpoint implementation that ran (reentrant or not) is the one asked for, or the "
        "default of the installed transformers' enabling API when none is asked for",
    )
    adapter_dtype: bool = Field(
        True, description="adapter weights in the dtype the scenario implies (fp32 under autocast_adapter_dtype)"
    )
    base_dtype: bool = Field(True, description="base weights keep the dtype they were loaded in (no silent upcast)")
    quantized: bool = Field(True, description="the quantization backend really quantized the model's block linears")
    adapter_targets: bool = Field(True, description="the adapter is attached to every module it targets")
    grad_parity: float | None = Field(
        0.02,
        ge=0,
        description="with checkpointing on: relative tolerance against the same step with checkpointing off "
        "(which parameters get a gradient, and its values); null switches the reference run off",
    )
    quant_error: float | None = Field(
        None,
        ge=0,
        description="max relative error of each quantized linear's output against the unquantized layer on the "
        "same input (null: the backend's calibrated bound per quant type)",
    )
    quant_reference: bool = Field(True, description="compare quantized layers with their unquantized weights")

    @classmethod
    def all_off(cls) -> ChecksSpec:
        """No probe at all: what the model goes through without any measurement of ours."""
        return cls(
            gradients="off",
            finite=False,
            update=False,
            checkpointing_active=False,
            checkpoint_impl=False,
            adapter_dtype=False,
            base_dtype=False,
            quantized=False,
            adapter_targets=False,
            grad_parity=None,
            quant_reference=False,
        )


Scalar = str | int | float | bool | None
# Keys are a distribution name (value: a PEP 440 specifier), `python`, `device`, `case`, or a vary
# axis (value: one value or a list of values). harness.dsl.conditions checks and evaluates them.
Conditions = dict[str, Scalar | list[Scalar]]
# validation context key: the stack lacks the scenario's `requires:` (harness/dsl/catalog.py sets it)
STACK_LACKS_REQUIREMENTS = "stack_lacks_requirements"


# A value of `effective:`/`checks:` in an expectation, checked when the scenario loads.
Predicate = Annotated[Any, AfterValidator(predicates.check)]


class OutcomePattern(Strict):
    """What an outcome should look like; unset fields match anything."""

    outcome: Outcome | CellOutcome
    phase: Phase | None = None
    error: str | None = Field(None, description="exception type name, e.g. TypeError or torch.OutOfMemoryError")
    message: str | None = Field(None, description="regex searched in the error and its chained causes")
    warning: str | None = Field(None, description="regex searched in captured warnings")
    log: str | None = Field(None, description="regex searched in captured log records")
    check: str | None = Field(None, description="regex over the failed correctness checks (silent outcomes)")
    reason: str | None = Field(None, description="regex over the skip/crash reason")
    effective: dict[str, Predicate] | None = Field(
        None,
        description="predicates on what took effect (partial mapping; see harness/predicates.py), "
        "e.g. {use_reentrant: false, trainable_dtypes: {float32: null}}",
    )
    checks: dict[str, Predicate] | None = Field(
        None,
        description="predicates on the record's checks (partial mapping, dotted keys; see harness/predicates.py), "
        "e.g. {results.adapter-dtype.passed: true, groups: {text: {nonzero_grad: '>0'}}}",
    )

    _regexes = field_validator("message", "warning", "log", "check", "reason")(lambda cls, v: _regex(v))


class Expectation(OutcomePattern):
    when: Conditions = Field(
        default_factory=dict,
        description="package: specifier (transformers: '<5'), device: cpu|cuda, cpu_capability: AVX512|AVX2|..., "
        "or vary axis: value",
    )
    why: str | None = Field(None, description="one line saying why this is expected")
    limit: bool = Field(False, description="true for entries that come from a _limits.yaml")


class Claim(OutcomePattern):
    """A published claim about this code, judged from what actually happened."""

    when: Conditions = Field(default_factory=dict)
    source: str = Field(description="URL or path of the page making the claim")
    role: Literal["broken", "fixed", "claim"] = Field(
        "claim", description="broken: the page's failing code; fixed: its proposed fix"
    )
    says: str = Field(description="the claim in the page's own words, one line")


class Limit(Expectation):
    """An environment fact that decides every scenario in its scope, before their own `expect`.

    ``when`` names the stack (package specifiers, device); ``scope`` names the scenarios by their
    fields (dotted path -> value or list of values), e.g. ``{quantization.backend: [bnb-4bit]}``.
    """

    description: Annotated[str, Field(min_length=1, pattern=r"^[^\n]+$")]
    scope: Conditions = Field(default_factory=dict)
    links: list[str] = Field(default_factory=list)


class LimitsFile(Strict):
    """A catalog's `_limits.yaml`: facts about stacks shared by many scenarios."""

    limits: list[Limit]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class Scenario(Strict):
    """One fully resolved variant: everything the runner needs, nothing left to expand."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._\[\]=,+-]*$")]
    description: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\n]+$")]
    tags: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list, description="upstream issues or pages this reproduces")
    device: Literal["any", "cpu", "cuda"] = "any"
    model: ModelSpec
    peft: PeftSpec = Field(default_factory=PeftSpec)
    quantization: QuantizationSpec = Field(default_factory=QuantizationSpec)
    checkpointing: CheckpointingSpec = Field(default_factory=CheckpointingSpec)
    distributed: DistributedSpec = Field(default_factory=DistributedSpec)
    precision: PrecisionSpec = Field(default_factory=PrecisionSpec)
    inputs: InputsSpec = Field(default_factory=InputsSpec)
    steps: StepsSpec = Field(default_factory=StepsSpec)
    checks: ChecksSpec = Field(default_factory=ChecksSpec)
    expect: list[Expectation] = Field(
        default_factory=lambda: [Expectation(outcome="passed")],
        description="first entry whose `when` holds applies; none given means `passed`",
    )
    claim: list[Claim] = Field(default_factory=list)
    requires: Conditions = Field(
        default_factory=dict,
        description="packages the scenario needs (transformers: '>=4.57' for an architecture added there); "
        "where the installed stack lacks them, each variant is recorded `skipped`, saying what is missing",
    )
    timeout: float = Field(120.0, gt=0, le=3600, description="seconds before the variant is killed")
    memory_mb: int = Field(4096, ge=64, description="address-space cap above the warm worker's baseline")

    _lists = field_validator("expect", "claim", mode="before")(lambda cls, v: _as_list(v))

    @field_validator("requires")
    @classmethod
    def _package_specifiers(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, message in conditions.requirement_problems(value):
            raise ValueError(f"{key}: {message}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problem = PATHS[self.checkpointing.via].problem(self) if self.checkpointing.enabled else None
        if problem:
            raise ValueError(problem)
        if self.precision.grad_scaler and self.precision.dtype != "fp16":
            raise ValueError("precision.grad_scaler is for fp16 only")
        problem = STRATEGIES[self.distributed.strategy].problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def runner(self) -> str:
        if self.steps.runner:
            return self.steps.runner
        uses_trainer = self.checkpointing.enabled and PATHS[self.checkpointing.via].implies_trainer
        return "trainer" if uses_trainer else "manual"

    @property
    def base_id(self) -> str:
        return self.id.split("[", 1)[0]


class Expansion(Strict):
    """The part of a file that turns one scenario into several variants."""

    vary: dict[str, list[Scalar]] = Field(
        default_factory=dict,
        description="dotted field path -> values; the product of all axes gives the variants",
    )
    cases: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="named sets of dotted-path overrides, e.g. the broken and the fixed code of a page",
    )


class ScenarioFile(Expansion, Scenario):
    """What a YAML file holds (this is the JSON Schema editors get from `harness schema`)."""

    id: Annotated[str, Field(pattern=SCENARIO_ID)] | None = Field(  # type: ignore[assignment]
        None, description="defaults to the file name"
    )


def scenario_file_json_schema() -> dict[str, Any]:
    """The JSON Schema editors use; `expect`/`claim` may also be written as a single mapping."""
    schema = ScenarioFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    for name, item in (("expect", "Expectation"), ("claim", "Claim")):
        listed = schema["properties"][name]
        schema["properties"][name] = {
            "description": listed.get("description", ""),
            "anyOf": [{"$ref": f"#/$defs/{item}"}, {"type": "array", "items": {"$ref": f"#/$defs/{item}"}}],
        }
    schema["$defs"]["QuantizationSpec"]["allOf"] = _backend_options_schemas(schema["$defs"])
    return schema


def _backend_options_schemas(definitions: dict[str, Any]) -> list[dict[str, Any]]:
    """Per backend named in a `quantization:` block: its own fields (each backend's ``Options``)."""
    common = definitions["QuantizationSpec"]["properties"]
    branches = []
    for name in BACKENDS.names():
        options = BACKENDS[name].Options.model_json_schema(ref_template="#/$defs/{model}")
        definitions.update(options.pop("$defs", {}))
        branches.append(
            {
                "if": {"properties": {"backend": {"const": name}}, "required": ["backend"]},
                "then": {"properties": {**common, **options.get("properties", {})}, "additionalProperties": False},
            }
        )
    return branches
