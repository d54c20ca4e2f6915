"""The signatures the catalog already covers in this environment: a failure is new only outside them.

Never guessed from the YAML: signatures depend on the installed stack, so they come from real
records, either those of a results file `harness run` wrote (``--known``) or those of running the
catalog's variants through the exploration's own warm pool at the start.

A failure is covered when its signature id is known, or when its *kind* is: the signature text
with concrete class names and dtypes blanked. peft raises "modules_to_save cannot be applied to
modules of type <class 'peft.tuners.lora.bnb.Linear4bit'>" once per adapter layer class, and
SDPA reports c10::Half or c10::BFloat16: one failure each, not seven or two to write down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness import outcomes
from harness.errors import InputError
from harness.record import Record
from harness.results import read_results

KIND_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<class '[^']*'>"), "<class>"),
    (re.compile(r"\bc10::\w+|\btorch\.(?:b?float|half|u?int)\d*\b"), "<dtype>"),
)

# Outcomes that make an explored combination a failure worth shrinking and keeping.
FAILURES = outcomes.FAILURES


def is_failure(record: Record) -> bool:
    return record.outcome in FAILURES and record.signature is not None


def is_harness_error(record: Record) -> bool:
    """The harness's own code broke (a bug, or a module being edited), not the stack.

    Such a failure is reported but never written as a catalog fact. The innermost frame is in
    harness/ and the error is not a TypeError: a TypeError raised where the harness calls into
    the stack is how Python reports a bad keyword to a peft config, which *is* a stack fact.
    """
    error = record.error
    if error is None or record.outcome != "failed":
        return False
    if "'harness." in error.message or '"harness.' in error.message:
        return True  # e.g. cannot import name ... from 'harness.families._base'
    frames = [frame for frame in error.traceback if not frame.file.startswith("<")]
    innermost = frames[-1].file.replace("\\", "/") if frames else ""
    return innermost.startswith("harness/") and error.type.rsplit(".", 1)[-1] != "TypeError"


def kind(record: Record) -> str:
    """The signature text with class names and dtypes blanked (see the module docstring)."""
    assert record.signature is not None
    text = record.signature.text
    for pattern, replacement in KIND_RULES:
        text = pattern.sub(replacement, text)
    return text


@dataclass
class Known:
    """Signature ids and kinds seen; ``covers`` says whether a failure is already accounted for."""

    ids: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, records: Iterable[Record]) -> Known:
        known = cls()
        for record in records:
            known.add(record)
        return known

    def add(self, record: Record) -> None:
        if record.signature is not None:
            self.ids.add(record.signature.id)
            self.kinds.add(kind(record))

    def covers(self, record: Record) -> bool:
        return record.signature is not None and (record.signature.id in self.ids or kind(record) in self.kinds)

    def copy(self) -> Known:
        return Known(set(self.ids), set(self.kinds))

    def __len__(self) -> int:
        return len(self.ids)


def signatures(records: Iterable[Record]) -> Known:
    """Every signature the records show, whatever their outcome (skips and silents included)."""
    return Known.of(records)


def from_results(paths: Iterable[Path]) -> tuple[Known, list[str]]:
    """(known signatures, problems) from results files; a file without any record is bad input."""
    paths = list(paths)
    for path in paths:
        if not path.is_file():
            raise InputError("no such results file (write one with `harness run --out FILE`)", path)
    loaded = read_results(paths)
    if not loaded.records:
        raise InputError(f"no readable record in {', '.join(map(str, paths))}", notes=loaded.problems[:5])
    return signatures(loaded.records), loaded.problems
