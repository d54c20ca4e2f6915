"""The copyable command that reruns one variant with the harness: exact installs, then `harness run`."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from harness import packages
from harness.report.cells import Cell
from harness.report.records import RecordDict
from harness.report.repro.inline import one_line

# Installed first, so that a reader sees the stack before the long tail of the lock.
STACK_FIRST = packages.stack()


# A distribution name as packaging defines it (PEP 508), matched in full: nothing else becomes a pin.
DISTRIBUTION_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)


@dataclass
class Pins:
    """A cell's pins as requirement lines, built from validated names and versions only."""

    lines: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # entries that are not a name and a version


def pins_of(cell: Cell) -> Pins:
    pins = Pins()
    checked: dict[str, str] = {}
    for name, version in cell.pins().items():
        requirement = _requirement(name, version)
        if requirement is None:
            pins.rejected.append(f"{str(name)[:80]!r}: {str(version)[:80]!r}")
        else:
            checked[requirement[0]] = requirement[1]
    names = [p for p in STACK_FIRST if p in checked] + sorted(p for p in checked if p not in STACK_FIRST)
    pins.lines = [f"{name}=={checked[name]}" for name in names]
    return pins


def _requirement(name: object, version: object) -> tuple[str, str] | None:
    """(canonical name, normalised version), or None when either is not one."""
    if not isinstance(name, str) or not isinstance(version, str) or not DISTRIBUTION_NAME.fullmatch(name):
        return None
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    return canonicalize_name(name), str(parsed)  # str(): the normal form, nothing of the input's spelling


def ordered_pins(cell: Cell) -> list[str]:
    return pins_of(cell).lines


def install_lines(cell: Cell) -> list[str]:
    pins = pins_of(cell)
    lines = ["python3 -m venv repro-env && . repro-env/bin/activate"]
    torch = next((line.split("==", 1)[1] for line in pins.lines if line.startswith("torch==")), "")
    if "+" in torch:
        lines.append(f"# torch {torch} is a local build: point pip at its wheel index (PIP_EXTRA_INDEX_URL)")
    if pins.rejected:
        lines.append(f"# left out {len(pins.rejected)} lock entries that are not a distribution name and version")
    lines.append("pip install " + " ".join(shlex.quote(pin) for pin in pins.lines))
    return lines


def run_lines(record: RecordDict) -> list[str]:
    """After the installs: the harness at its recorded version, then this one variant."""
    version = one_line(record.get("harness_version") or "the recorded version")
    run = ["harness", "run", str(record.get("source", "scenarios")), "--id", str(record["id"])]
    if record.get("device") == "cuda":
        run += ["--device", "cuda"]
    return [
        f"pip install --no-deps -e .   # in an ft-harness checkout ({version})",
        " ".join(_shell_word(part) for part in run),
    ]


def _shell_word(text: str) -> str:
    """One shell word on one line: quoted, and what is not printable written as $'...' escapes."""
    if all(c.isprintable() for c in text):
        return shlex.quote(text)
    return "$'" + "".join(_ansi_c(c) for c in text) + "'"


def _ansi_c(char: str) -> str:
    if char in "\\'":
        return "\\" + char
    if char.isprintable():
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def reproduce_command(cell: Cell, record: RecordDict) -> str:
    return "\n".join([*install_lines(cell), *run_lines(record)])
