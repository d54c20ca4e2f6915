"""Cells: the column a record belongs to, its version header, and the order of columns.

A record's ``cell`` is an opaque name given by ``harness run --cell``; records without one get a
key derived from their environment, so two local runs on different stacks still make two columns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from harness import outcomes, packages

# The packages a cell is made of, in the order headers show them (the most telling first).
HEADER_PACKAGES = packages.header_order()
# ... and in the order a derived cell key names them, as the matrix names its cells.
KEY_PACKAGES = packages.cell_order()
SHORT_NAMES = packages.SHORT_NAMES
# Outcomes of a cell that could not run any scenario: not a fact about the scenario.
UNBUILT = outcomes.UNBUILT
# Distributions left out of reproduce pins: the harness itself, and installer tooling.
NOT_PINNED = frozenset({"ft-harness", "pip", "setuptools", "wheel", "uv"})
# Environment fields that are not distributions.
NOT_PACKAGES = frozenset(
    {"python", "implementation", "platform", "machine", "executable", "device", "installer", "torch_cuda"}
    | {"cuda_available", "cpu", "cpu_count", "cpu_capability", "device_name", "cuda_capability", "isolation", "lock"}
)


def derived_key(env: dict[str, Any], device: str) -> str:
    """Like the matrix's cell names: py3.11.7-torch2.13.0-tf4.57.6-peft0.17.1-bnb0.49.2-acc1.10.1-cpu."""
    parts = [f"{SHORT_NAMES.get(p, p)}{env.get(p)}" for p in KEY_PACKAGES if env.get(p)]
    return "-".join([*parts, env.get("device") or device or "cpu"])


def cell_key(record: dict[str, Any]) -> str:
    return record.get("cell") or derived_key(record.get("env") or {}, record.get("device", "cpu"))


@dataclass
class Cell:
    key: str
    versions: dict[str, str | None] = field(default_factory=dict)
    device: str = "cpu"
    lock: dict[str, str] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    index: int = 0

    @property
    def header(self) -> list[tuple[str, str]]:
        """(short package name, version) lines of the column header."""
        return [(SHORT_NAMES.get(p, p), v) for p in HEADER_PACKAGES if (v := self.versions.get(p))]

    label: str = ""  # the versions that tell columns apart; set by build_cells

    @property
    def versions_label(self) -> str:
        return " ".join(f"{name} {version}" for name, version in self.header[:3]) or self.key

    def pins(self) -> dict[str, str]:
        """Exact versions to reinstall the cell: its lock, or the versions it asked for when unbuilt."""
        if self.lock:
            return {name: version for name, version in self.lock.items() if name not in NOT_PINNED}
        # An unbuilt cell's environment holds its pins beside facts about the machine.
        return {
            name: value
            for name, value in self.env.items()
            if name not in NOT_PACKAGES and isinstance(value, str) and value[:1].isdigit()
        }


def build_cells(records: list[dict[str, Any]]) -> list[Cell]:
    """One Cell per key, with the environment most of its records report, in version order."""
    envs: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        envs.setdefault(cell_key(record), []).append(record)
    cells = [_cell(key, group) for key, group in envs.items()]
    cells.sort(key=lambda c: (c.device, *(version_sort_key(c.versions.get(p)) for p in HEADER_PACKAGES), c.key))
    labels = Counter(cell.versions_label for cell in cells)
    for index, cell in enumerate(cells):
        cell.index = index
        # Two columns on the same versions (say a nightly and a local run) are told apart by name.
        cell.label = cell.versions_label if labels[cell.versions_label] == 1 else f"{cell.key}: {cell.versions_label}"
    return cells


def _cell(key: str, records: list[dict[str, Any]]) -> Cell:
    # Unbuilt cells know only the versions they asked for; a built record's env is richer.
    ran = [r for r in records if r.get("outcome") not in UNBUILT] or records
    counts = Counter(_env_signature(r.get("env") or {}) for r in ran)
    signature = counts.most_common(1)[0][0]
    env = next(r.get("env") or {} for r in ran if _env_signature(r.get("env") or {}) == signature)
    versions = {p: _short_python(env.get(p)) if p == "python" else env.get(p) for p in HEADER_PACKAGES}
    return Cell(
        key=key,
        versions=versions,
        device=env.get("device") or ran[0].get("device", "cpu"),
        lock=dict(env.get("lock") or {}),
        env={k: v for k, v in env.items() if k != "lock"},
    )


def _env_signature(env: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(env.get(p) for p in HEADER_PACKAGES)


def _short_python(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else version


def version_sort_key(version: str | None) -> tuple[int, Any]:
    """Release order; missing or unparsable versions last."""
    try:
        return (0, Version(version)) if version else (1, Version("0"))
    except InvalidVersion:
        return (1, Version("0"))
