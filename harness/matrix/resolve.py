"""Axis values and selectors -> concrete released versions, or a located error."""

from __future__ import annotations

import re
from itertools import groupby
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from harness.errors import InputError
from harness.matrix.index import IndexError_, PackageIndex
from harness.matrix.schema import Selector

SPECIFIER_START = "<>=!~"


PYTHON_VERSION = re.compile(r"3\.\d+(\.\d+)?")


def resolve_value(package: str, value: Any, index: PackageIndex) -> list[str]:
    """The versions one axis value stands for (a selector may stand for several)."""
    if package == "python":
        return [python_version(value)]
    try:
        released = index.versions(package, prereleases=allows_prereleases(value))
    except IndexError_ as exc:
        raise InputError(f"cannot resolve '{package}': {exc}") from None
    if isinstance(value, Selector):
        return _select(package, value, released)
    return [_one(package, str(value), released)]


def allows_prereleases(value: Any) -> bool:
    """pip's and uv's rule: pre-releases only when asked for, by a selector's ``prereleases: true``
    or by a value that names one (``"0.18.0rc0"``, ``">=0.18.0rc0"``, ``{range: ">=0.18.0rc0"}``)."""
    if isinstance(value, Selector):
        return value.prereleases or (value.range is not None and _names_prerelease(value.range))
    return _names_prerelease(str(value))


def _names_prerelease(text: str) -> bool:
    try:
        if text[:1] in SPECIFIER_START:
            return bool(SpecifierSet(text).prereleases)
        return Version(text).is_prerelease
    except (InvalidSpecifier, InvalidVersion):
        return False  # not a version at all: resolving it reports that


def python_version(value: Any) -> str:
    """A Python version the installers can create an environment for: 3.11 or 3.11.7."""
    if not isinstance(value, str) or not PYTHON_VERSION.fullmatch(value):
        raise InputError(f"python: {str(value)[:60]!r} is not a Python version such as '3.11' or '3.11.7'")
    return value


def check_rule_value(package: str, value: Any) -> None:
    """A rule value (include/exclude/selection) is a version or a PEP 440 specifier, nothing else."""
    text = str(value)
    if text[:1] in SPECIFIER_START:
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            raise InputError(
                f"invalid version specifier {text[:60]!r} for {package} (PEP 440, e.g. '>=4.44,<5', '==4.57.*')"
            ) from None
        return
    if package == "python":
        python_version(text)
        return
    try:
        Version(text)
    except InvalidVersion:
        raise InputError(
            f"{text[:60]!r} for {package} is neither a version nor a PEP 440 specifier such as '>=4.44,<5'"
        ) from None


def _one(package: str, value: str, released: list[Version]) -> str:
    if value == "latest":
        return str(released[-1])
    if value[:1] in SPECIFIER_START:
        matching = _matching(package, value, released)
        if not matching:
            raise InputError(f"no release of {package} matches '{value}' ({_span(released)})")
        return str(matching[-1])
    try:
        wanted = Version(value)
    except InvalidVersion:
        raise InputError(
            f"'{value}' is not a version, 'latest', a specifier such as '>=0.47,<0.49' or a selector "
            f"such as {{latest_minors: 3}} (package {package})"
        ) from None
    if wanted not in released:
        raise InputError(f"{package} {value} does not exist ({nearest(wanted, released)})")
    return str(next(v for v in released if v == wanted))


def _select(package: str, selector: Selector, released: list[Version]) -> list[str]:
    candidates = _matching(package, selector.range, released) if selector.range else released
    if not candidates:
        raise InputError(f"no release of {package} matches '{selector.range}' ({_span(released)})")
    per_minor = [list(group)[-1] for _, group in groupby(candidates, key=lambda v: v.release[:2])]
    if selector.latest_minors is not None:
        return [str(v) for v in per_minor[-selector.latest_minors :]]
    if selector.pick == "latest":
        return [str(candidates[-1])]
    return [str(v) for v in (per_minor if selector.pick == "latest-per-minor" else candidates)]


def _matching(package: str, specifier: str, released: list[Version]) -> list[Version]:
    try:
        specifiers = SpecifierSet(specifier)
    except InvalidSpecifier:
        raise InputError(f"invalid version specifier '{specifier}' for {package} (PEP 440, e.g. '>=4.44,<5')") from None
    return [v for v in released if specifiers.contains(v, prereleases=True)]


def nearest(wanted: Version, released: list[Version]) -> str:
    below = [v for v in released if v < wanted][-3:]
    above = [v for v in released if v > wanted][:3]
    return "nearest releases: " + ", ".join(str(v) for v in [*below, *above]) if below or above else _span(released)


def _span(released: list[Version]) -> str:
    return f"{len(released)} releases from {released[0]} to {released[-1]}" if released else "no releases"
