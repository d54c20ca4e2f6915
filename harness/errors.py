"""Bad input is reported as one clear message naming the file, line and valid choices.

Every user-facing input problem becomes an :class:`InputError`; the CLI prints it and exits 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def choices_hint(word: str, choices: Iterable[str]) -> str:
    """'(valid: a, b, c; did you mean 'b'?)' for messages about an unknown name."""
    options = sorted(choices)
    hint = f"valid: {', '.join(options)}"
    suggestion = did_you_mean(word, options)
    if suggestion:
        hint += f"; did you mean '{suggestion}'?"
    return hint


@dataclass
class InputError(Exception):
    message: str
    file: str | Path | None = None
    line: int | None = None
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.format()

    def located(self, file: str | Path | None, line: int | None) -> InputError:
        """The same error, placed at file:line unless it already knows where it is."""
        return InputError(self.message, self.file or file, self.line or line, list(self.notes))

    def format(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return where + self.message + "".join(f"\n    {note}" for note in self.notes)


class InputErrors(Exception):
    """Several independent input errors, reported together."""

    def __init__(self, errors: list[InputError]):
        super().__init__("\n".join(e.format() for e in errors))
        self.errors = errors
