"""`when:` conditions: on installed versions, the device, the CPU's vector capability, or a
variant's axis values.

``{transformers: "<5", use_reentrant: true}`` holds when the installed transformers is below 5
and the variant's ``use_reentrant`` axis is true. A package that is not installed satisfies no
specifier, so ``{bitsandbytes: ">=0"}`` reads as "bitsandbytes is installed"; ``{scipy: null}``
holds where scipy is not installed (an optional dependency of one method). ``{cpu_capability:
AVX512}`` holds where torch dispatches CPU kernels for AVX-512 (``torch.backends.cpu.
get_cpu_capability()``, which bitsandbytes reads to choose its CPU kernels too).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from harness import packages
from harness.errors import did_you_mean

DEVICES = ("cpu", "cuda")
# torch.backends.cpu.get_cpu_capability()'s answers (ATen's CPU_CAPABILITY levels)
CPU_CAPABILITIES = ("DEFAULT", "AVX2", "AVX512", "VSX", "ZVECTOR", "SVE128", "SVE256", "SVE512")
# `when:` keys that are neither packages nor vary axes
BUILT_IN_KEYS = ("device", "case", "cpu_capability")
# Besides the recorded stack (FINGERPRINT_PACKAGES): `python`, and what the stack pulls in.
STACK_EXTRAS = ("python", "tokenizers", "huggingface-hub", "datasets", "deepspeed", "flash-attn")


@dataclass(frozen=True)
class Context:
    """What a condition is evaluated against."""

    versions: Mapping[str, str | None]
    device: str = "cpu"
    axes: Mapping[str, Any] = field(default_factory=dict)
    cpu_capability: str | None = None  # None: not known (torch not imported), no capability holds

    def version_of(self, package: str) -> str | None:
        key = canonicalize_name(package)
        if key not in self.versions:
            self.versions[key] = installed_version(key)  # type: ignore[index]
        return self.versions[key]


def installed_version(package: str) -> str | None:
    if canonicalize_name(package) == "python":
        return platform.python_version()
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@cache
def known_packages() -> frozenset[str]:
    """Package names a `when:` may test: the stack the harness records, and whatever is installed."""
    from harness.execution.stack import FINGERPRINT_PACKAGES

    names = {canonicalize_name(name) for name in (*FINGERPRINT_PACKAGES, *STACK_EXTRAS)}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            names.add(canonicalize_name(name))
    return frozenset(names)


def _unknown_package(key: str, axes: Mapping[str, Any]) -> str | None:
    """Why ``key`` is not a package a condition can test (a misspelling never matches, silently)."""
    if not isinstance(key, str) or canonicalize_name(key) in known_packages():
        return None
    known = known_packages()
    suggestion = did_you_mean(canonicalize_name(key), known) or did_you_mean(key, [*axes, *BUILT_IN_KEYS])
    stack = ", ".join((*packages.stack(), packages.PYTHON))
    hint = f"did you mean '{suggestion}'?" if suggestion else f"the stack's are {stack}"
    where = ", ".join(sorted(str(a) for a in axes)) or "none"
    return (
        f"unknown package '{key}' ({hint}); a `when:` key is a package of the stack or installed here, "
        f"`device`, `case`, `cpu_capability` or a vary axis (axes: {where})"
    )


def problems(when: Mapping[str, Any], axes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, message) for each key of ``when`` that cannot be evaluated."""
    found = []
    for key, value in when.items():
        if key in axes:
            continue
        if key not in BUILT_IN_KEYS and value is None:
            continue  # "not installed": any package name may be absent
        if key not in BUILT_IN_KEYS and isinstance(value, str):
            unknown = _unknown_package(key, axes)
            if unknown:
                found.append((key, unknown))
                continue
        if key == "device":
            bad = [v for v in _as_list(value) if v not in DEVICES]
            if bad:
                found.append((key, f"unknown device {bad[0]!r} (valid: {', '.join(DEVICES)})"))
            continue
        if key == "cpu_capability":
            bad = [v for v in _as_list(value) if v not in CPU_CAPABILITIES]
            if bad:
                found.append((key, f"unknown CPU capability {bad[0]!r} (valid: {', '.join(CPU_CAPABILITIES)})"))
            continue
        if not isinstance(value, str):
            valid_axes = ", ".join(sorted(axes)) or "none: this scenario has no vary/cases"
            found.append(
                (
                    key,
                    f"'{key}' is not a vary axis (axes: {valid_axes}); as a package it needs a "
                    f"version specifier string such as '<5' or '>=0.47', got {value!r}",
                )
            )
            continue
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            found.append(
                (
                    key,
                    f"invalid version specifier {value!r} for '{key}' (PEP 440, e.g. '<5', '>=0.47,<0.49', '==4.57.*')",
                )
            )
    return found


def holds(when: Mapping[str, Any], context: Context) -> bool:
    return all(_holds_one(key, value, context) for key, value in when.items())


def _holds_one(key: str, value: Any, context: Context) -> bool:
    if key in context.axes:
        return context.axes[key] in _as_list(value)
    if key == "device":
        return context.device in _as_list(value)
    if key == "cpu_capability":
        return context.cpu_capability in _as_list(value)
    version = context.version_of(key)
    if value is None:
        return version is None
    if version is None:
        return False
    try:
        return SpecifierSet(value).contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def requirement_problems(requires: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, message) for each entry of a scenario's `requires:` that is not a package specifier."""
    found = []
    for key, value in requires.items():
        if key in BUILT_IN_KEYS or not isinstance(value, str):
            wanted = "package: specifier pairs (transformers: '>=4.57')"
            found.append((key, f"`requires:` holds {wanted}, got {key}: {value!r}"))
        else:
            found += problems({key: value}, {})
    return found


def unmet(requires: Mapping[str, str], context: Context | None = None) -> list[str]:
    """What the installed stack lacks of a scenario's `requires:`, one phrase each."""
    context = context or Context(versions={})
    missing = []
    for package, specifier in requires.items():
        if not _holds_one(package, specifier, context):
            installed = context.version_of(package)
            missing.append(f"{package}{specifier} (installed: {installed or 'none'})")
    return missing


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
