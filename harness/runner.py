"""A run: selected variants through the worker pool into records, one JSON line each."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__
from harness.dsl.catalog import Variant
from harness.dsl.conditions import Context
from harness.execution.pool import Limits, StackImportError, WorkerPool, import_failed
from harness.execution.stack import FINGERPRINT_PACKAGES, fingerprint
from harness.record import SCHEMA, ErrorInfo, Record, Signature
from harness.results import ResultWriter
from harness.signature import signature_id, signature_text
from harness.verdict import claims, expectation


@dataclass
class RunOptions:
    out: Path
    device: str = "cpu"
    jobs: int = 1
    isolation: str | None = None
    limits: Limits = field(default_factory=Limits)
    cell: str | None = None
    run_id: str | None = None
    repeat: int = 1


class Interrupted(BaseException):  # like KeyboardInterrupt, not an Exception: it must not be caught as one
    """SIGTERM (or SIGINT) while running: stop, keep what is recorded."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass
class RunResult:
    run_id: str
    records: list[Record] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)
    startup_s: float = 0.0
    wall_s: float = 0.0
    interrupted: str | None = None

    @property
    def unexpected(self) -> list[Record]:
        return [r for r in self.records if not r.as_expected]


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def run(
    variants: list[Variant], options: RunOptions, on_record: Callable[[Record], None] = lambda record: None
) -> RunResult:
    result = RunResult(run_id=options.run_id or new_run_id())
    writer = ResultWriter(options.out)
    started = time.monotonic()
    records = _records(variants, options, result)
    try:
        for record in records:
            writer.write(record)  # appended and flushed: a kill at any later moment keeps it
            result.records.append(record)
            on_record(record)
    except (KeyboardInterrupt, Interrupted) as stop:
        records.close()  # stops the supervisor and its children
        result.interrupted = stop.signal_name if isinstance(stop, Interrupted) else "SIGINT"
    result.wall_s = round(time.monotonic() - started, 3)
    return result


def _records(variants: list[Variant], options: RunOptions, result: RunResult) -> Iterator[Record]:
    runnable = [v for v in variants if v.scenario.device in ("any", options.device) or options.device == "auto"]
    for variant in variants:
        if variant not in runnable:
            observation = {"outcome": "skipped", "reason": f"needs device {variant.scenario.device}"}
            yield build_record(
                variant, observation, fingerprint(options.device, with_torch=False), options, result.run_id
            )
    if not runnable:
        return
    pool = WorkerPool(options.device, options.jobs, options.isolation)
    try:
        pool.start()
    except StackImportError as error:
        env = fingerprint(options.device, with_torch=False)
        result.env = env
        for variant in runnable:
            yield build_record(variant, import_failed(error), env, options, result.run_id)
        return
    result.env, result.startup_s = pool.env, pool.startup_s
    repeated: dict[str, list[dict[str, Any]]] = {}
    try:
        for variant, observation in pool.run(runnable * options.repeat, options.limits):
            runs = repeated.setdefault(variant.id, [])
            runs.append(observation)
            if len(runs) == options.repeat:
                yield _agreed(build_record(variant, runs[0], pool.env, options, result.run_id), runs)
    finally:
        pool.close()


def _agreed(record: Record, runs: list[dict[str, Any]]) -> Record:
    """With --repeat, the first run's record, marked flaky when the runs disagree."""
    if len(runs) == 1:
        return record
    seen = [(run["outcome"], (_signature(run) or Signature(id="-", text="")).id) for run in runs]
    record.repeats = {"runs": len(runs), "outcomes": [o for o, _ in seen], "signatures": [s for _, s in seen]}
    record.flaky = len(set(seen)) > 1
    if record.flaky:
        record.expectation.verdict = "unexpected"
        record.expectation.mismatches.append(f"flaky: {len(runs)} runs gave {sorted(set(seen))}")
    return record


def build_record(
    variant: Variant, observation: dict[str, Any], env: dict[str, Any], options: RunOptions, run_id: str
) -> Record:
    device = env.get("device", options.device)
    context = Context(
        versions={p: env.get(p) for p in FINGERPRINT_PACKAGES if p in env} | {"python": env.get("python")},
        device=device,
        axes=variant.axes,
    )
    error = observation.get("error")
    return Record(
        schema=SCHEMA,
        run_id=run_id,
        cell=options.cell,
        id=variant.id,
        scenario_id=variant.scenario.base_id,
        source=variant.source,
        line=variant.line,
        axes={k: v for k, v in variant.axes.items() if "." not in k},
        scenario=variant.scenario.model_dump(mode="json"),
        device=device,
        outcome=observation["outcome"],
        phase=observation.get("phase"),
        reason=observation.get("reason"),
        error=ErrorInfo.model_validate(error) if error else None,
        signature=_signature(observation),
        logs=observation.get("logs", []),
        warnings=observation.get("warnings", []),
        output_tail=observation.get("output_tail", ""),
        effective=observation.get("effective", {}),
        checks=observation.get("checks", {}),
        timings=observation.get("timings", {}),
        duration_s=observation.get("duration_s", 0.0),
        peak_rss_mb=observation.get("peak_rss_mb"),
        peak_cuda_mb=observation.get("peak_cuda_mb"),
        env=env,
        expectation=expectation(variant.scenario, observation, context),
        claims=claims(variant.scenario, observation, context),
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        harness_version=__version__,
    )


def _signature(observation: dict[str, Any]) -> Signature | None:
    outcome = observation["outcome"]
    if outcome == "passed":
        return None
    error = observation.get("error")
    if error and outcome == "failed":
        text = signature_text(observation.get("phase"), error["type"].rsplit(".", 1)[-1], error["message"])
    else:
        text = signature_text(observation.get("phase"), outcome, observation.get("reason") or "")
    return Signature(id=signature_id(text), text=text)
