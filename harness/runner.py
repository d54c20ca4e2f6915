"""A run: selected variants through the worker pool into records, one JSON line each."""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness import __version__
from harness.dsl.catalog import Variant
from harness.dsl.conditions import Context, unmet
from harness.dsl.schema import Expectation
from harness.execution.pool import Limits, StackImportError, WorkerPool, import_failed
from harness.execution.stack import FINGERPRINT_PACKAGES, fingerprint
from harness.observation import Observation
from harness.record import SCHEMA, Record, Signature, Verdict
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
        result.interrupted = stop.signal_name if isinstance(stop, Interrupted) else "SIGINT"
    finally:
        records.close()  # stops the supervisor and its children, whatever ended the loop (a full disk too)
    result.wall_s = round(time.monotonic() - started, 3)
    return result


def _records(variants: list[Variant], options: RunOptions, result: RunResult) -> Iterator[Record]:
    not_here = {id(v): found for v in variants if (found := _not_here(v, options))}
    runnable = [v for v in variants if id(v) not in not_here]
    for variant in variants:
        if id(variant) in not_here:
            judged, reason = not_here[id(variant)]
            observation = {"outcome": "skipped", "reason": reason}
            yield build_record(
                judged, observation, fingerprint(options.device, with_torch=False), options, result.run_id
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
    seen = [(str(run.get("outcome")), _signature_id_of(run)) for run in runs]
    record.repeats = {"runs": len(runs), "outcomes": [o for o, _ in seen], "signatures": [s for _, s in seen]}
    record.flaky = len(set(seen)) > 1
    if record.flaky:
        record.expectation.verdict = "unexpected"
        record.expectation.mismatches.append(f"flaky: {len(runs)} runs gave {sorted(set(seen))}")
    return record


def _signature_id_of(observation: dict[str, Any]) -> str:
    try:
        return (_signature(_encodable(observation)) or Signature(id="-", text="")).id
    except Exception:  # an observation that cannot be read: its record says so (build_record)
        return "-"


def build_record(
    variant: Variant, observation: dict[str, Any], env: dict[str, Any], options: RunOptions, run_id: str
) -> Record:
    """The variant's record; never raises for anything the variant did or sent.

    Whatever cannot be turned into a record (a hook's phase that is not a name, an unwritable
    message, any exception on the way) becomes the variant's `crashed` record naming the reason,
    so one variant can never end the run.
    """
    try:
        env = _encodable(env)
        record = _record(variant, without_import_messages(_encodable(observation), env), env, options, run_id)
        record.to_line()  # what cannot be written cannot be recorded: find out here, not in the writer
        return record
    except Exception as exc:
        unrecordable = {
            "outcome": "crashed",
            "phase": _phase_name(observation),
            "reason": f"the harness could not record this variant's observation: {_describe(exc)}",
            "output_tail": _encodable(_field(observation, "output_tail", str, "")),
            "duration_s": _field(observation, "duration_s", (int, float), 0.0),
        }
        try:
            record = _record(variant, unrecordable, env, options, run_id)
            record.to_line()
            return record
        except Exception as again:  # not even the crash can be judged: record it unjudged
            return _unjudged(variant, unrecordable, env, options, run_id, _describe(again))


def _identity(variant: Variant, options: RunOptions, run_id: str) -> dict[str, Any]:
    """Which run and which variant a record is about: the same for every record a run writes."""
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "cell": options.cell,
        "id": variant.id,
        "scenario_id": variant.scenario.base_id,
        "source": variant.source,
        "line": variant.line,
        "scenario": variant.scenario.model_dump(mode="json"),
    }


def _unjudged(
    variant: Variant, crash: dict[str, Any], env: dict[str, Any], options: RunOptions, run_id: str, why: str
) -> Record:
    """The crash record built without the verdicts (whatever failed was in them, or in env)."""
    env = json.loads(json.dumps(_encodable(env), default=str)) if isinstance(env, dict) else {}
    return Record(
        **_identity(variant, options, run_id),
        device=str(env.get("device", options.device)),
        outcome="crashed",
        phase=crash["phase"],
        reason=crash["reason"],
        signature=_signature(crash),
        output_tail=crash["output_tail"],
        duration_s=crash["duration_s"],
        env=env,
        expectation=Verdict(verdict="unexpected", mismatches=[f"not judged: {why}"]),
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        harness_version=__version__,
    )


def without_import_messages(observation: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    """The observation less what the stack printed at import, which its env already records once.

    A spawned child imports the stack itself and prints the same lines into its output; a forked
    one can meet them again as warnings or log records when a module loads lazily.
    """
    printed = env.get("import_messages")
    if not printed or not isinstance(printed, list):
        return observation
    lines = {line for line in printed if isinstance(line, str)}

    def printed_at_import(entry: Any) -> bool:
        message = entry.get("message") if isinstance(entry, dict) else None
        first = message.strip().splitlines()[0] if isinstance(message, str) and message.strip() else ""
        # a warning prints as "file:line: Category: message", a log record as its message
        return bool(first) and any(line == first or line.endswith(": " + first) for line in lines)

    cleaned = dict(observation)
    for key in ("warnings", "logs"):
        if isinstance(cleaned.get(key), list):
            cleaned[key] = [entry for entry in cleaned[key] if not printed_at_import(entry)]
    tail = cleaned.get("output_tail")
    if isinstance(tail, str) and tail:
        cleaned["output_tail"] = "\n".join(line for line in tail.splitlines() if line.rstrip() not in lines)
    return cleaned


def _field(observation: Any, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = observation.get(name) if isinstance(observation, dict) else None
    return value if isinstance(value, kind) else default


def _phase_name(observation: Any) -> str | None:
    phase = _field(observation, "phase", str, None)
    return _encodable(phase) if phase is not None else None


def _describe(exc: Exception) -> str:
    """One line: the exception type and, for a validation error, the field and value it rejected."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "record"
        detail = f"{where}: {first['msg']} (got {first.get('input')!r:.200})"
    else:
        detail = (str(exc).strip().splitlines() or [""])[0]
    return _encodable(f"{type(exc).__name__}: {detail}"[:500])


def _encodable(value: Any) -> Any:
    """``value`` with every string made writable as UTF-8 (a lone surrogate becomes ``\\udcff``)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    return value


def _not_here(variant: Variant, options: RunOptions) -> tuple[Variant, str] | None:
    """Why this stack cannot run the variant at all (its device, its `requires:`), with the variant
    as it is judged here; None when it can run. A variant whose `requires:` the stack lacks expects,
    by its own word, to be skipped here."""
    device = variant.scenario.device
    if device not in ("any", options.device) and options.device != "auto":
        return variant, f"needs device {device}"
    missing = unmet(variant.scenario.requires)
    if not missing:
        return None
    expectation = Expectation(outcome="skipped", reason="^requires ", why="the stack lacks what the scenario requires")
    judged = dataclasses.replace(variant, scenario=variant.scenario.model_copy(update={"expect": [expectation]}))
    return judged, f"requires {', '.join(missing)}"


def _record(
    variant: Variant, observation: dict[str, Any], env: dict[str, Any], options: RunOptions, run_id: str
) -> Record:
    # what a child sent is untrusted: a field of the wrong shape fails here, naming the field
    observed = Observation.model_validate(observation)
    observation = observed.model_dump(mode="json", by_alias=True)
    device = env.get("device", options.device)
    context = Context(
        versions={p: env.get(p) for p in FINGERPRINT_PACKAGES if p in env} | {"python": env.get("python")},
        device=device,
        axes=variant.axes,
        cpu_capability=env.get("cpu_capability") if isinstance(env.get("cpu_capability"), str) else None,
    )
    return Record(
        **_identity(variant, options, run_id),
        axes={k: v for k, v in variant.axes.items() if "." not in k},
        device=device,
        outcome=observed.outcome,
        phase=observed.phase,
        at=observed.at,
        reason=observed.reason,
        error=observed.error,
        signature=_signature(observation),
        logs=observed.logs,
        warnings=observed.warnings,
        output_tail=observed.output_tail,
        effective=observed.effective,
        checks=observed.checks,
        timings=observed.timings,
        duration_s=observed.duration_s,
        peak_rss_mb=observed.peak_rss_mb,
        peak_cuda_mb=observed.peak_cuda_mb,
        ranks=observation.get("ranks"),
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
