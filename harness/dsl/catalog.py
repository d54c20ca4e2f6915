"""From YAML files to validated variants.

``load_catalog(paths)`` never raises on bad input: each broken file becomes an
:class:`~harness.errors.InputError` (file:line, valid choices) and the other files still load.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.dsl import conditions, hooks
from harness.dsl.locate import locate, model_of
from harness.dsl.schema import STACK_LACKS_REQUIREMENTS, Expansion, Expectation, Limit, LimitsFile, Scalar, Scenario
from harness.dsl.yaml_source import Loc, Located, load_yaml
from harness.errors import InputError

YAML_SUFFIXES = (".yaml", ".yml")
# Files named `_*.yaml` are not scenarios; `_limits.yaml` holds environment limits (see Limit).
LIMITS_FILE = "_limits.yaml"
EXPANSION_KEYS = ("vary", "cases")


@dataclass(frozen=True)
class Variant:
    """One runnable, fully resolved scenario."""

    scenario: Scenario
    source: str
    line: int
    axes: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.scenario.id

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.model_dump(mode="json"),
            "source": self.source,
            "line": self.line,
            "axes": self.axes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Variant:
        return cls(Scenario.model_validate(data["scenario"]), data["source"], data["line"], data["axes"])


@dataclass
class Catalog:
    variants: list[Variant] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def by_id(self) -> dict[str, Variant]:
        return {v.id: v for v in self.variants}


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[InputError]]:
    files: list[Path] = []
    errors: list[InputError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
            files.extend(sorted(p for p in found if not p.name.startswith("_")))
        elif path.is_file():
            files.append(path)
        else:
            errors.append(InputError("no such scenario file or directory", path))
    return list(dict.fromkeys(files)), errors


def load_catalog(paths: Iterable[str | Path]) -> Catalog:
    files, errors = discover(paths)
    catalog = Catalog(errors=errors, files=files)
    limits = LimitsLoader(catalog.errors)
    first_seen: dict[str, Variant] = {}
    for file in files:
        try:
            variants = load_file(file, limits.for_file(file))
        except InputError as exc:
            catalog.errors.append(exc)
            continue
        for variant in variants:
            if variant.id in first_seen:
                other = first_seen[variant.id]
                catalog.errors.append(
                    InputError(
                        f"duplicate scenario id '{variant.id}' (first defined at {other.source}:{other.line})",
                        variant.source,
                        variant.line,
                    )
                )
                continue
            first_seen[variant.id] = variant
            catalog.variants.append(variant)
    return catalog


def load_file(file: Path, limits: Sequence[Limit] = ()) -> list[Variant]:
    located = load_yaml(file)
    if not isinstance(located.data, dict):
        kind = "empty" if located.data is None else type(located.data).__name__
        raise InputError(f"a scenario file holds one mapping, this one is {kind}", file, 1)
    variants = expand(located, limits)
    _check_hooks(variants, located)
    return variants


def _check_hooks(variants: Sequence[Variant], located: Located) -> None:
    """Each hook a variant names exists and defines its function (checked once, nothing run)."""
    checked: set[str] = set()
    for variant in variants:
        for section in ("model", "steps"):
            reference = getattr(variant.scenario, section).hook
            if not reference or reference in checked:
                continue
            checked.add(reference)
            problem = hooks.problem(reference, located.file.parent)
            if problem:
                raise InputError(f"{section}.hook: {problem}", located.file, located.line_of((section, "hook")))


class LimitsLoader:
    """The `_limits.yaml` files of a scenario's folder and its parents, each loaded once."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        self._by_folder: dict[Path, list[Limit]] = {}

    def for_file(self, file: Path) -> list[Limit]:
        folders = [file.parent.resolve(), *file.parent.resolve().parents]
        return [limit for folder in folders for limit in self._in(folder)]

    def _in(self, folder: Path) -> list[Limit]:
        if folder not in self._by_folder:
            path = folder / LIMITS_FILE
            self._by_folder[folder] = []
            if path.is_file():
                try:
                    self._by_folder[folder] = load_limits(path)
                except InputError as error:
                    self.errors.append(error)
        return self._by_folder[folder]


def load_limits(path: Path) -> list[Limit]:
    located = load_yaml(path)
    try:
        limits = LimitsFile.model_validate(located.data).limits
    except ValidationError as exc:
        raise locate(exc, located, LimitsFile)[0] from None
    for index, limit in enumerate(limits):
        for key in limit.scope:
            if not _is_scenario_path(key):
                line = located.line_of(("limits", index, "scope", key))
                raise InputError(
                    f"limit scope: '{key}' is not a scenario field path (e.g. quantization.backend)", path, line
                )
        for key, message in conditions.problems(limit.when, {}):
            raise InputError(f"limit when: {message}", path, located.line_of(("limits", index, "when", key)))
    return limits


def _is_scenario_path(dotted: str) -> bool:
    model: Any = Scenario
    for part in dotted.split("."):
        fields = getattr(model, "model_fields", None)
        if fields is None:
            return True  # a free-form mapping (model.config, peft.config): any key is fine
        if part not in fields:
            # a section whose entries bring their own fields (a quantization backend's options)
            extra = getattr(model, "entry_fields", None)
            return extra is not None and part in extra()
        model = model_of(fields[part].annotation) or dict
    return True


def _in_scope(limit: Limit, scenario: Scenario) -> bool:
    data: Any = scenario.model_dump(mode="json")
    for dotted, wanted in limit.scope.items():
        value = data
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (wanted if isinstance(wanted, list) else [wanted]):
            return False
    return True


def _with_limits(scenario: Scenario, limits: Sequence[Limit]) -> Scenario:
    """The scenario with the limits in its scope checked before its own expectations."""
    fields = set(Expectation.model_fields)
    applicable = [
        Expectation.model_validate(
            {**limit.model_dump(include=fields, exclude_none=True), "why": limit.description, "limit": True}
        )
        for limit in limits
        if _in_scope(limit, scenario)
    ]
    return scenario.model_copy(update={"expect": [*applicable, *scenario.expect]}) if applicable else scenario


def expand(located: Located, limits: Sequence[Limit] = ()) -> list[Variant]:
    data = dict(located.data)
    axes_block = {key: data.pop(key) for key in EXPANSION_KEYS if key in data}
    _check_expansion(axes_block, located)
    base_id = data.get("id", located.file.stem.replace("_", "-").lower())
    data["id"] = base_id
    source = str(located.file)
    variants, errors = [], []
    for label, overrides, axes in _combinations(axes_block):
        try:
            resolved = _apply(copy.deepcopy(data), overrides, located)
            resolved["id"] = f"{base_id}[{label}]" if label else base_id
            scenario = Scenario.model_validate(resolved, context={STACK_LACKS_REQUIREMENTS: _lacks(resolved)})
        except ValidationError as exc:
            on_override = partial(_override_line, located=located, overrides=overrides)
            errors.extend(locate(exc, located, Scenario, resolved, on_override))
            continue
        except InputError as exc:
            errors.append(exc.located(located.file, 1))
            continue
        errors.extend(_condition_errors(scenario, axes, located))
        variants.append(Variant(_with_limits(scenario, limits), source, located.line_of(()), axes))
    if errors:
        raise _first_distinct(errors)
    return variants


def _check_expansion(block: dict[str, Any], located: Located) -> None:
    try:
        Expansion.model_validate(block)
    except ValidationError as exc:
        raise locate(exc, located, Expansion, block)[0] from None
    for path, values in block.get("vary", {}).items():
        if not values:
            raise InputError(f"vary axis '{path}' has no values", located.file, located.line_of(("vary", path)))
        if len({json.dumps(v) for v in values}) != len(values):
            raise InputError(f"vary axis '{path}' repeats a value", located.file, located.line_of(("vary", path)))
        if path.split(".", 1)[0] in ("id", *EXPANSION_KEYS):
            raise InputError(f"vary cannot change '{path}'", located.file, located.line_of(("vary", path)))


def _combinations(block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(label, {dotted path: value}, axes) for each variant, in file order."""
    cases = list(block.get("cases", {}).items()) or [(None, {})]
    vary = list(block.get("vary", {}).items())
    names = _axis_names([path for path, _ in vary])
    for (case, case_overrides), values in itertools.product(cases, itertools.product(*(v for _, v in vary))):
        overrides = dict(case_overrides)
        axes: dict[str, Any] = {"case": case} if case else {}
        parts = [case] if case else []
        for (path, _), name, value in zip(vary, names, values, strict=True):
            overrides[path] = value
            axes[path] = axes[name] = value
            parts.append(f"{name}={_label(value)}")
        yield ",".join(parts), overrides, axes


def _axis_names(paths: list[str]) -> list[str]:
    """The last path segment names an axis unless two axes share it."""
    leaves = [p.rsplit(".", 1)[-1] for p in paths]
    return [leaf if leaves.count(leaf) == 1 else path for leaf, path in zip(leaves, paths, strict=True)]


def _label(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


def _apply(data: dict[str, Any], overrides: dict[str, Any], located: Located) -> dict[str, Any]:
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        target = data
        for key in parents:
            child = target.get(key)
            if not isinstance(child, dict):
                child = target[key] = {} if child is None else child
            if not isinstance(child, dict):
                line = _override_line(tuple(path.split(".")), located, overrides) or located.line_of((key,))
                raise InputError(f"cannot set '{path}': '{key}' is not a mapping", located.file, line)
            target = child
        target[leaf] = copy.deepcopy(value)
    return data


def _lacks(resolved: dict[str, Any]) -> bool:
    """Whether the installed stack lacks a well-formed `requires:` (a malformed one fails validation)."""
    requires = resolved.get("requires")
    if not isinstance(requires, dict) or conditions.requirement_problems(requires):
        return False
    return bool(conditions.unmet(requires))


def _condition_errors(scenario: Scenario, axes: dict[str, Any], located: Located) -> list[InputError]:
    found = []
    for section in ("expect", "claim"):
        for index, entry in enumerate(getattr(scenario, section)):
            for key, message in conditions.problems(entry.when, axes):
                line = (
                    located.line_of((section, index, "when", key))
                    if isinstance(located.data.get(section), list)
                    else located.line_of((section, "when", key))
                )
                found.append(InputError(f"{section}.when: {message}", located.file, line))
    return found


def _override_line(loc: Loc, located: Located, overrides: dict[str, Any]) -> int | None:
    dotted = ".".join(str(p) for p in loc)
    for path in overrides:
        if dotted == path or dotted.startswith(path + "."):
            for block in EXPANSION_KEYS:
                if (block, path) in located.lines:
                    return located.lines[(block, path)]
            for case, case_overrides in located.data.get("cases", {}).items():
                if path in case_overrides:
                    return located.line_of(("cases", case, path))
    return None


def _first_distinct(errors: list[InputError]) -> InputError:
    """Variants of one file repeat the same mistake; report it once, with the others as notes."""
    seen: dict[tuple[Any, ...], InputError] = {}
    for error in errors:
        seen.setdefault((error.line, error.message), error)
    first, *rest = seen.values()
    return InputError(first.message, first.file, first.line, [f"line {e.line}: {e.message}" for e in rest[:5]])
