"""Does what a generated script printed match its record? (Used by the tests and bench/.)"""

from __future__ import annotations

import re
from typing import Any

from harness.report.repro.export import recorded_outcome

OUTCOME_LINE = re.compile(r"^OUTCOME: (.*)$", re.MULTILINE)


def printed_outcome(output: str) -> str | None:
    """The last `OUTCOME: ...` line a script printed (None: it died before saying)."""
    found = OUTCOME_LINE.findall(output)
    return found[-1].strip() if found else None


def same_outcome(record: dict[str, Any], printed: str | None) -> bool:
    """Same outcome; for failures the same phase and error type; for silent runs the same checks."""
    if printed is None:
        return False
    expected = recorded_outcome(record)
    outcome = record.get("outcome")
    if outcome == "failed":
        return _head(printed) == _head(expected)
    if outcome == "silent":
        recorded = _recorded_checks(record) & SCRIPT_CHECKS
        return printed.split(":", 1)[0] == outcome and _script_checks(printed) == recorded
    if outcome == "skipped":
        return printed.split(":", 1)[0] == outcome and _checks(printed) == _checks(expected)
    return printed.split(":", 1)[0] == outcome


# The checks a generated script carries out, by the first word it prints for each. grad-parity
# (a reference run) and the dtype and adapter-target checks run only in the harness: a record
# silent through those alone is not reproduced by its script, and says so by not comparing equal.
SCRIPT_CHECKS = {"gradients", "finite", "update", "checkpointing-active", "checkpoint-impl", "quantized", "quant-error"}
SCRIPT_TOKENS = {
    "no-grad": "gradients",
    "zero-grad": "gradients",
    "no-trainable-parameters": "gradients",
    "nonfinite-loss": "finite",
    "nonfinite-grad": "finite",
    "no-update": "update",
}


def _recorded_checks(record: dict[str, Any]) -> set[str]:
    results = (record.get("checks") or {}).get("results") or {}
    if results:
        return {name for name, result in results.items() if result.get("passed") is False}
    # records written before checks had names: their failures were the bare tokens
    return {_script_name(token) for token in (record.get("checks") or {}).get("failed", [])}


def _script_checks(printed: str) -> set[str]:
    return {_script_name(part) for part in printed.split(":", 1)[-1].split(";") if part.strip()}


def _script_name(token: str) -> str:
    word = re.split(r"[\s:(]", token.strip(), maxsplit=1)[0]
    return SCRIPT_TOKENS.get(word, word)


def _head(text: str) -> str:
    """'failed at attach: TypeError' of 'failed at attach: TypeError: message'."""
    return ":".join(text.split(":")[:2]).strip()


def _checks(text: str) -> list[str]:
    return sorted(part.strip() for part in text.split(":", 1)[-1].split(";"))
