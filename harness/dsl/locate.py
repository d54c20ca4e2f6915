"""Pydantic validation errors, placed at their YAML line with the valid choices spelled out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from harness.dsl.yaml_source import Loc, Located
from harness.errors import InputError, choices_hint


def locate(
    exc: ValidationError,
    located: Located,
    root: type[BaseModel],
    document: Any = None,
    line_override: Callable[[Loc], int | None] = lambda loc: None,
) -> list[InputError]:
    """One InputError per offending value, at its line, naming the valid choices.

    ``document`` is what was validated when it differs from the file (a variant with its
    overrides applied); ``line_override`` places values that came from elsewhere in the file.
    """
    grouped: dict[Loc, list[dict[str, Any]]] = {}
    for error in exc.errors(include_url=False):
        loc = _yaml_loc(tuple(error["loc"]), located.data if document is None else document)
        grouped.setdefault(loc, []).append(error)
    errors = []
    # A misspelt key also makes a required field "missing"; the misspelling is the error to show.
    # Of a union's complaints, the deepest is the specific one ("latest_minors: >= 1", not "a string").
    for loc, group in sorted(grouped.items(), key=lambda item: (item[1][0]["type"] == "missing", -len(item[0]))):
        line = line_override(loc) or located.line_of(loc)
        messages = list(dict.fromkeys(_message(error, loc, root) for error in group))
        errors.append(InputError(messages[0] if len(messages) == 1 else _merge(messages), located.file, line))
    return errors


def _yaml_loc(loc: Loc, data: Any) -> Loc:
    """Keep the parts of pydantic's loc that index the document (drop union tags and the like)."""
    kept: list[str | int] = []
    for position, part in enumerate(loc):
        following = loc[position + 1] if position + 1 < len(loc) else None
        if (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        ):
            data = data[part]
        elif data is not None and not isinstance(data, dict | list):
            break
        elif isinstance(data, dict) and isinstance(part, str) and not _is_tag(part) and following not in data:
            kept.append(part)  # a missing or unknown key: name it, there is nothing below it
            break
        else:
            continue  # a union member's name (the next part indexes the document again)
        kept.append(part)
    return tuple(kept)


def _is_tag(part: str) -> bool:
    return "[" in part or part in ("str", "int", "float", "bool", "list", "dict", "none")


def _merge(messages: list[str]) -> str:
    return messages[0] + "".join(f"; or {m.partition(': ')[2] or m}" for m in messages[1:])


def _message(error: dict[str, Any], loc: Loc, root: type[BaseModel]) -> str:
    where = ".".join(str(p) for p in loc) or "scenario"
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        hint = choices_hint(str(loc[-1]), parent.model_fields) if parent else "see `harness schema`"
        return f"unknown field '{loc[-1]}' in {'.'.join(map(str, loc[:-1])) or 'scenario'} ({hint})"
    if kind == "missing":
        return f"missing required field '{where}'"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    model = root
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        model = model_of(info.annotation)
        if model is None:
            return None
    return model


def model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = model_of(arg)
        if found:
            return found
    return None
