"""Judging what happened against what the scenario expects and what published pages claim."""

from __future__ import annotations

import re
from typing import Any

from harness import outcomes, predicates
from harness.dsl.conditions import Context, holds
from harness.dsl.schema import PHASES, Expectation, OutcomePattern, Scenario
from harness.record import ClaimVerdict, Verdict
from harness.signature import first_statement

DEFAULT_EXPECTATION = Expectation(outcome="passed")


def summarize(observed: dict[str, Any]) -> str:
    """One line: 'failed at attach: TypeError: ...', 'failed at forward, step 2: ...', 'passed'."""
    outcome = observed["outcome"]
    error = observed.get("error")
    if outcome == "passed":
        return "passed"
    where = observed.get("phase")
    at = observed.get("at")
    if isinstance(at, dict) and at.get("step"):
        where = f"{where}, step {at['step']}"  # "failed at forward, step 2"
    if error:
        return f"{outcome} at {where}: {error['type']}: {first_statement(error['message'])[:300]}"
    reason = observed.get("reason")
    return f"{outcome} at {where}" + (f": {reason}" if reason else "")


def mismatches(pattern: OutcomePattern, observed: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(held, failed): a description of each constraint of ``pattern`` that held or failed."""
    held, failed = [], []
    error = observed.get("error") or {}

    def judge(name: str, wanted: Any, ok: bool, actual: Any) -> None:
        if wanted is None:
            return
        (held if ok else failed).append(f"{name} {wanted!r}" if ok else f"{name}: expected {wanted!r}, got {actual!r}")

    judge("outcome", pattern.outcome, observed["outcome"] == pattern.outcome, observed["outcome"])
    judge("phase", pattern.phase, observed.get("phase") == pattern.phase, observed.get("phase"))
    error_types = _error_types(error)
    judge("error", pattern.error, pattern.error in error_types, error.get("type"))
    messages = "\n".join([error.get("message", ""), *(c["message"] for c in error.get("causes", []))])
    judge("message", pattern.message, _search(pattern.message, messages), messages[:200] or None)
    warnings = "\n".join(w["message"] for w in observed.get("warnings", []))
    judge(
        "warning", pattern.warning, _search(pattern.warning, warnings), f"{len(observed.get('warnings', []))} warnings"
    )
    logs = "\n".join(r["message"] for r in observed.get("logs", []))
    judge("log", pattern.log, _search(pattern.log, logs), f"{len(observed.get('logs', []))} log records")
    checks = "; ".join(observed.get("checks", {}).get("failed", []))
    judge("check", pattern.check, _search(pattern.check, checks), checks or None)
    judge("reason", pattern.reason, _search(pattern.reason, observed.get("reason") or ""), observed.get("reason"))
    for section in ("effective", "checks"):
        wanted = getattr(pattern, section)
        if wanted is not None:
            for result in predicates.judge(wanted, observed.get(section) or {}, section):
                (held if result.held else failed).append(result.describe())
    return held, failed


def _error_types(error: dict[str, Any]) -> set[str]:
    names = set(error.get("bases", []))
    for qualified in [error.get("type", ""), *(c["type"] for c in error.get("causes", []))]:
        if qualified:
            names.add(qualified)
            names.add(qualified.rsplit(".", 1)[-1])
    return names


def _search(pattern: str | None, text: str) -> bool:
    return pattern is not None and re.search(pattern, text, re.MULTILINE) is not None


def applicable(scenario: Scenario, context: Context) -> Expectation:
    """What the scenario should do in this context.

    Its own first matching entry, unless an environment limit (from _limits.yaml) fails the
    variant at an earlier phase: whatever fails first decides, and a tie goes to the limit.
    """
    own = next((e for e in scenario.expect if not e.limit and holds(e.when, context)), DEFAULT_EXPECTATION)
    limits = [e for e in scenario.expect if e.limit and holds(e.when, context)]
    earliest = min(limits, key=_moment, default=None)  # min keeps the first listed of equals
    return earliest if earliest is not None and _moment(earliest) <= _moment(own) else own


def _moment(entry: Expectation) -> int:
    """When the expected outcome happens: before every phase for a stack that does not even
    build or import, at its phase for a failure, after every phase for a pass."""
    if entry.outcome in outcomes.UNBUILT:
        return -1
    return PHASES.index(entry.phase) if entry.phase else len(PHASES)


def expectation(scenario: Scenario, observed: dict[str, Any], context: Context) -> Verdict:
    entry = applicable(scenario, context)
    _, failed = mismatches(entry, observed)
    return Verdict(
        verdict="unexpected" if failed else "as_expected",
        expected=entry.model_dump(
            exclude_none=True, exclude_defaults=False, exclude={"when"} if not entry.when else set()
        ),
        mismatches=failed,
    )


def claims(scenario: Scenario, observed: dict[str, Any], context: Context) -> list[ClaimVerdict]:
    verdicts = []
    for claim in scenario.claim:
        if not holds(claim.when, context):
            continue
        held, failed = mismatches(claim, observed)
        outcome_held = observed["outcome"] == claim.outcome
        verdict = "confirmed" if not failed else ("partly" if outcome_held else "refuted")
        verdicts.append(
            ClaimVerdict(
                source=claim.source,
                role=claim.role,
                says=claim.says,
                verdict=verdict,
                claimed=claim.model_dump(exclude_none=True, exclude={"source", "role", "says", "when"}),
                held=held,
                failed=failed,
                actual=summarize(observed),
            )
        )
    return verdicts
