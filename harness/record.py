"""The result record: one JSON line per variant, schema-versioned.

Readers (``harness report``, the matrix merge) accept records whose ``schema`` they know and
report the others; fields are only ever added within a schema version, so unknown keys are kept.
The README documents every field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.dsl.schema import CellOutcome, Outcome

SCHEMA = "ft-harness.result/1"
SCHEMA_FAMILY = "ft-harness.result/"


class Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Frame(Open):
    file: str
    line: int | None = None
    function: str = ""
    code: str = ""


class Cause(Open):
    type: str
    message: str
    relation: Literal["cause", "context"] = "cause"


class ErrorInfo(Open):
    type: str = Field(description="qualified exception type, e.g. torch.OutOfMemoryError")
    bases: list[str] = Field(default_factory=list, description="simple names of the type and its bases")
    message: str = ""
    causes: list[Cause] = Field(default_factory=list, description="chained causes, outermost first")
    traceback: list[Frame] = Field(default_factory=list, description="last frames, innermost last")


class Signature(Open):
    id: str = Field(description="short stable hash of text, for grouping")
    text: str = Field(description="phase and error with numbers, shapes, paths, versions stripped")


class LogRecord(Open):
    logger: str
    level: str
    message: str
    count: int = 1


class WarningRecord(Open):
    category: str
    message: str
    source: str = ""
    count: int = 1


class GroupGradients(Open):
    trainable: int = 0
    with_grad: int = 0
    nonzero_grad: int = 0


class CheckResult(Open):
    passed: bool | None = Field(description="None: measured but not judged (e.g. the reference did not run)")
    detail: str = ""


class Checks(Open):
    trainable_tensors: int = 0
    trainable_elements: int = 0
    total_elements: int = 0
    groups: dict[str, GroupGradients] = Field(default_factory=dict)
    losses: list[float | None] = Field(default_factory=list)
    nonfinite_grads: int = 0
    updated: bool | None = None
    results: dict[str, CheckResult] = Field(
        default_factory=dict,
        description="every named check that applied (gradients, finite, update, checkpointing-active, "
        "checkpoint-impl, base-dtype, adapter-dtype, quantized, adapter-targets, grad-parity, quant-error): "
        "passed, a one-line detail and its numbers",
    )
    failed: list[str] = Field(default_factory=list, description="'name (detail)' of each check that failed")


class Location(Open):
    step: int = Field(description="training step, from 1")
    forward: int = Field(description="top-level forward calls so far (the failing one included)")


class Verdict(Open):
    verdict: Literal["as_expected", "unexpected"]
    expected: dict[str, Any] = Field(default_factory=dict)
    mismatches: list[str] = Field(default_factory=list)


class ClaimVerdict(Open):
    source: str
    role: str
    says: str
    verdict: Literal["confirmed", "refuted", "partly"]
    claimed: dict[str, Any] = Field(default_factory=dict)
    held: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    actual: str = ""


class Record(Open):
    schema_: str = Field(SCHEMA, alias="schema")
    run_id: str
    cell: str | None = None
    id: str
    scenario_id: str
    source: str
    line: int = 1
    axes: dict[str, Any] = Field(default_factory=dict)
    scenario: dict[str, Any]
    device: str = "cpu"
    outcome: Outcome | CellOutcome
    phase: str | None = None
    at: Location | None = Field(None, description="where in training a failure happened")
    reason: str | None = None
    error: ErrorInfo | None = None
    signature: Signature | None = None
    logs: list[LogRecord] = Field(default_factory=list)
    warnings: list[WarningRecord] = Field(default_factory=list)
    output_tail: str = ""
    effective: dict[str, Any] = Field(default_factory=dict)
    checks: Checks = Field(default_factory=Checks)
    timings: dict[str, float] = Field(default_factory=dict)
    duration_s: float = 0.0
    peak_rss_mb: float | None = None
    peak_cuda_mb: float | None = None
    ranks: list[dict[str, Any]] | None = Field(
        None,
        description="distributed variants: each rank's outcome, phase, error, signature and checks; the record's "
        "own outcome is the first failing rank's (effective.distributed.first_failing_rank), else rank 0's",
    )
    env: dict[str, Any] = Field(default_factory=dict)
    expectation: Verdict
    claims: list[ClaimVerdict] = Field(default_factory=list)
    started_at: str = ""
    harness_version: str = ""
    repeats: dict[str, Any] | None = Field(None, description="with --repeat: each run's outcome and signature")
    flaky: bool = Field(False, description="--repeat runs disagreed on outcome or signature")

    @property
    def as_expected(self) -> bool:
        return self.expectation.verdict == "as_expected"

    def to_line(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=False) + "\n"
