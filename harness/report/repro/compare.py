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
    if outcome in ("silent", "skipped"):
        return printed.split(":", 1)[0] == outcome and _checks(printed) == _checks(expected)
    return printed.split(":", 1)[0] == outcome


def _head(text: str) -> str:
    """'failed at attach: TypeError' of 'failed at attach: TypeError: message'."""
    return ":".join(text.split(":")[:2]).strip()


def _checks(text: str) -> list[str]:
    return sorted(part.strip() for part in text.split(":", 1)[-1].split(";"))
