"""matrix.yaml -> cells: resolve the axes, combine them, apply exclude/include, tag selections.

Combining is the full product or a pairwise covering array computed by covertable (every pair
of values of any two axes appears in at least one cell; exclusions are its constraints).
include/exclude follow GitHub Actions: an exclude rule drops the combinations it matches; an
include entry extends every combination whose axis values it matches with its other keys
(without overwriting axis values), and is added as a cell of its own when it matches none.
"""

from __future__ import annotations

import itertools
import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import TypeAdapter, ValidationError

from harness import packages
from harness.dsl.locate import locate
from harness.dsl.yaml_source import Located, load_yaml
from harness.errors import InputError
from harness.matrix.index import PackageIndex
from harness.matrix.resolve import SPECIFIER_START, check_rule_value, resolve_value
from harness.matrix.schema import CellDefaults, Matrix, Selection

SETTINGS = set(CellDefaults.model_fields) | {"optional"}


@dataclass(frozen=True)
class Cell:
    """One environment of the matrix: exact pins and what it runs."""

    pins: dict[str, str]
    device: str = "cpu"
    scenarios: tuple[str, ...] = ("scenarios",)
    keyword: str | None = None
    jobs: int = 2
    runs_on: str = "ubuntu-latest"
    optional: bool = False
    selections: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        parts = [f"{packages.short_name(k)}{v}" for k, v in _ordered(self.pins)]
        return "-".join([*parts, self.device])

    @property
    def python(self) -> str:
        return self.pins.get("python", platform.python_version().rsplit(".", 1)[0])

    @property
    def packages(self) -> dict[str, str]:
        return {k: v for k, v in _ordered(self.pins) if k != "python"}

    @property
    def requirements(self) -> list[str]:
        return [f"{package}=={version}" for package, version in self.packages.items()]

    @property
    def tags(self) -> list[str]:
        minor = [f"{k}-{'.'.join(v.split('.')[:2])}" for k, v in _ordered(self.pins)]
        # `nox -t matrix` is the default matrix; optional cells run only when asked for by name or tag
        group = ["optional"] if self.optional else ["matrix"]
        return [*group, self.device, *self.selections, *minor]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pins": dict(_ordered(self.pins)),
            "device": self.device,
            "scenarios": list(self.scenarios),
            "keyword": self.keyword,
            "jobs": self.jobs,
            "runs_on": self.runs_on,
            "optional": self.optional,
            "selections": list(self.selections),
        }


def _ordered(pins: dict[str, str]) -> list[tuple[str, str]]:
    rank = {name: i for i, name in enumerate(packages.cell_order())}
    return sorted(pins.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


@dataclass
class Plan:
    """The resolved matrix."""

    file: Path
    matrix: Matrix
    axes: dict[str, list[str]]
    cells: list[Cell] = field(default_factory=list)

    def selection(self, name: str | None) -> list[Cell]:
        if name is None or name == "all":
            chosen = list(self.cells)
        elif name == "default":
            chosen = [c for c in self.cells if not c.optional]
        elif name not in self.matrix.selections:
            valid = ", ".join(["all", "default", *sorted(self.matrix.selections)])
            raise InputError(f"unknown selection '{name}' (valid: {valid})", self.file)
        else:
            chosen = [c for c in self.cells if name in c.selections]
        if not chosen:
            raise InputError(f"selection '{name}' matches no cell", self.file)
        return chosen


def load_plan(file: Path, index: PackageIndex | None = None) -> Plan:
    located = load_yaml(file)
    if not isinstance(located.data, dict):
        raise InputError("matrix.yaml holds one mapping (axes, strategy, include, exclude, ...)", file, 1)
    try:
        matrix = Matrix.model_validate(located.data)
    except ValidationError as exc:
        raise locate(exc, located, Matrix)[0] from None
    index = index or PackageIndex.from_environment()
    axes = _resolve_axes(matrix, located, index)
    combos = _combine(matrix, axes, located)
    cells = [_cell(combo, matrix.defaults) for combo in _include(combos, matrix, axes, located, index)]
    cells = [_tag(cell, matrix, located) for cell in _unique(cells)]
    _check_selections(matrix, cells, located)
    return Plan(file, matrix, axes, cells)


def _resolve_axes(matrix: Matrix, located: Located, index: PackageIndex) -> dict[str, list[str]]:
    axes: dict[str, list[str]] = {}
    for name, values in matrix.axes.items():
        resolved: list[str] = []
        for position, value in enumerate(values):
            try:
                resolved += resolve_value(name, value, index)
            except InputError as error:
                raise error.located(located.file, located.line_of(("axes", name, position))) from None
        axes[name] = list(dict.fromkeys(resolved))
    return axes


def _combine(matrix: Matrix, axes: dict[str, list[str]], located: Located) -> list[dict[str, str]]:
    for position, rule in enumerate(matrix.exclude):
        unknown = set(rule) - set(axes)
        if unknown:
            raise InputError(
                f"exclude rule names '{sorted(unknown)[0]}', which is not an axis (axes: {', '.join(axes)})",
                located.file,
                located.line_of(("exclude", position)),
            )
        _check_rule(rule, located, ("exclude", position))
    keep = [
        combo
        for combo in _all_combinations(axes, matrix.strategy, matrix.exclude)
        if not any(matches(rule, combo) for rule in matrix.exclude)
    ]
    if not keep:
        raise InputError("every combination is excluded", located.file, located.line_of(("exclude",)))
    return keep


def _all_combinations(axes: dict[str, list[str]], strategy: str, exclude: list[dict[str, str]]) -> list[dict[str, str]]:
    names = list(axes)
    if strategy == "full" or len(names) < 3:
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]
    from covertable import make
    from covertable.shortcuts import Constraint

    constraint = Constraint()
    constraints = [constraint.fn(list(rule), lambda row, rule=rule: not matches(rule, row)) for rule in exclude]
    rows = make({name: axes[name] for name in names}, strength=2, constraints=constraints)
    return [{name: row[name] for name in names} for row in rows]


def matches(rule: dict[str, Any], combo: dict[str, Any]) -> bool:
    """Whether every key of ``rule`` holds in ``combo`` (a value or a PEP 440 specifier)."""
    return all(key in combo and _value_matches(str(value), str(combo[key])) for key, value in rule.items())


def _check_rule(rule: dict[str, Any], located: Located, loc: tuple[Any, ...], skip: set[str] = frozenset()) -> None:
    """Every value of a rule is a version or a valid specifier: a typo is an error, not a rule
    that silently matches nothing (or becomes a pin)."""
    for key, value in rule.items():
        if key in skip:
            continue
        try:
            check_rule_value(key, value)
        except InputError as error:
            raise error.located(located.file, located.line_of((*loc, key))) from None


def _value_matches(wanted: str, actual: str) -> bool:
    if wanted == actual:
        return True
    if wanted[:1] in SPECIFIER_START:
        try:
            return SpecifierSet(wanted).contains(Version(actual), prereleases=True)
        except (InvalidSpecifier, InvalidVersion):
            return False
    return False


def _include(
    combos: list[dict[str, str]], matrix: Matrix, axes: dict[str, list[str]], located: Located, index: PackageIndex
) -> list[dict[str, Any]]:
    entries = [_resolved_entry(raw, located, ("include", i), index) for i, raw in enumerate(matrix.include)]
    for position, entry in enumerate(entries):
        rules = {k: v for k, v in entry.items() if k in axes and str(v)[:1] in SPECIFIER_START}
        if rules and not any(matches(rules, combo) for combo in combos):
            # GitHub would add the entry as a cell of its own; a specifier cannot be a pin.
            shown = ", ".join(f"{k}: {v}" for k, v in rules.items())
            raise InputError(
                f"include rule {{{shown}}} matches no combination, and a specifier cannot pin a cell of its own",
                located.file,
                located.line_of(("include", position)),
            )
    # Our one extension of GitHub's rules: an axis with a single value (python, torch here)
    # belongs to every cell, including the cells that include entries add.
    fixed = {name: values[0] for name, values in axes.items() if len(values) == 1}
    return [{**fixed, **combo} for combo in apply_include(combos, entries, set(axes))]


def apply_include(
    combos: list[dict[str, Any]], entries: list[dict[str, Any]], axis_names: set[str]
) -> list[dict[str, Any]]:
    """GitHub Actions' include: extend each original combination an entry's axis values match
    (never overwriting an axis value), or add the entry as a combination of its own."""
    result = [dict(c) for c in combos]
    for entry in entries:
        on_axes = {k: v for k, v in entry.items() if k in axis_names}
        extra = {k: v for k, v in entry.items() if k not in axis_names}
        # entries extend only the original combinations, never added ones
        matched = [combo for combo in result[: len(combos)] if matches(on_axes, combo)]
        for combo in matched:
            combo.update(extra)
        if not matched:
            result.append(dict(entry))
    return result


def _resolved_entry(
    entry: dict[str, Any], located: Located, loc: tuple[Any, ...], index: PackageIndex
) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in entry.items():
        where = located.line_of((*loc, key))
        if key in SETTINGS:
            resolved[key] = _setting(key, value, located.file, where)
        elif not isinstance(value, str):
            raise InputError(
                f"include: '{key}' is not a cell setting (valid: {', '.join(sorted(SETTINGS))}); "
                f"as a package it needs a version string, got {value!r}",
                located.file,
                where,
            )
        elif value[:1] in SPECIFIER_START and key in located.data.get("axes", {}):
            try:
                check_rule_value(key, value)
            except InputError as error:
                raise error.located(located.file, where) from None
            resolved[key] = value  # a rule matching existing cells, not a pin
        else:
            try:
                resolved[key] = resolve_value(key, value, index)[0]
            except InputError as error:
                raise error.located(located.file, where) from None
    return resolved


def _setting(key: str, value: Any, file: Path, line: int) -> Any:
    annotation = CellDefaults.model_fields[key].annotation if key in CellDefaults.model_fields else bool
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise InputError(f"include: {key}: {exc.errors()[0]['msg']}", file, line) from None


def _cell(combo: dict[str, Any], defaults: CellDefaults) -> Cell:
    settings = {k: v for k, v in combo.items() if k in SETTINGS}
    pins = {k: str(v) for k, v in combo.items() if k not in SETTINGS}
    values = {**defaults.model_dump(), **settings}
    return Cell(
        pins=pins,
        device=values["device"],
        scenarios=tuple(values["scenarios"]),
        keyword=values["keyword"],
        jobs=values["jobs"],
        runs_on=values["runs_on"],
        optional=bool(values.get("optional", False)),
    )


def _unique(cells: list[Cell]) -> list[Cell]:
    seen: dict[str, Cell] = {}
    for cell in cells:
        seen.setdefault(cell.name, cell)
    return list(seen.values())


def _selected(selection: Selection, cell: Cell) -> bool:
    rules = selection.cells
    return not rules or any(matches(rule, cell.pins | {"device": cell.device}) for rule in rules)


def _check_selections(matrix: Matrix, cells: list[Cell], located: Located) -> None:
    """Each selection's rules name known keys with valid values, and it selects at least one cell."""
    known = {key for cell in cells for key in cell.pins} | {"device"}
    for name, selection in matrix.selections.items():
        for position, rule in enumerate(selection.cells):
            loc = ("selections", name, "cells", position)
            unknown = sorted(set(rule) - known)
            if unknown:
                raise InputError(
                    f"selection '{name}' names '{unknown[0]}', which no cell has (valid: {', '.join(sorted(known))})",
                    located.file,
                    located.line_of((*loc, unknown[0])),
                )
            _check_rule(rule, located, loc, skip={"device"})
        if not any(name in cell.selections for cell in cells):
            optional = [c for c in cells if c.optional and _selected(selection, c)]
            raise InputError(
                f"selection '{name}' matches no cell"
                + (f" ({len(optional)} optional cells would: add include_optional: true)" if optional else ""),
                located.file,
                located.line_of(("selections", name)),
            )


def _tag(cell: Cell, matrix: Matrix, located: Located) -> Cell:
    names = []
    for name, selection in matrix.selections.items():
        if cell.optional and not selection.include_optional:
            continue
        if _selected(selection, cell):
            names.append(name)
    return replace(cell, selections=tuple(names))
