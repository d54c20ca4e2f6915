"""What a variant's run reports across the process boundary: one typed structure.

The worker builds an :class:`Observation` (harness/execution/pipeline.py, ``run_variant``) and
sends its JSON form; the supervisor adds what only it can know (crashes, hangs, output, duration)
to the same structure; the parent validates what it receives before judging it (harness/runner.py):
a child is not trusted, so a malformed observation becomes a `crashed` record naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from harness.dsl.schema import CellOutcome, Outcome
from harness.record import Checks, ErrorInfo, Location, LogRecord, Open, WarningRecord


class Observation(Open):
    outcome: Outcome | CellOutcome
    phase: str | None = Field(None, description="the pipeline phase the run was in when it ended")
    at: Location | None = Field(None, description="training step and forward of a failure")
    reason: str | None = Field(None, description="why a variant was skipped, crashed or timed out")
    error: ErrorInfo | None = None
    warnings: list[WarningRecord] = Field(default_factory=list)
    logs: list[LogRecord] = Field(default_factory=list)
    effective: dict[str, Any] = Field(default_factory=dict, description="what took effect (names, dtypes, modes)")
    checks: Checks = Field(default_factory=Checks)
    timings: dict[str, float] = Field(default_factory=dict)
    # added by the supervisor
    output_tail: str = ""
    duration_s: float = 0.0
    peak_rss_mb: float | None = None
    peak_cuda_mb: float | None = None

    def wire(self) -> dict[str, Any]:
        """The JSON form sent between processes (unset fields left out)."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)
