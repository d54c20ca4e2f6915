"""A scenario's own code: ``model.hook`` / ``steps.hook`` as ``module:function``.

The module is a ``.py`` beside the scenario file (that wins) or an importable module. It is
checked when the scenario loads, without running it (the file exists and parses, the function is
defined at its top level): a mistake there is bad input, reported with file:line, never a fact
recorded about the stack. At run time the module is imported as a real module (registered in
``sys.modules``), because libraries look their classes' modules up there: transformers 5.0's
``PreTrainedModel`` reads ``sys.modules[cls.__module__]`` and failed at build with ``KeyError``
for a module loaded from a file without it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import did_you_mean


def split(reference: str) -> tuple[str, str]:
    module, _, function = reference.rpartition(":")
    return module, function


def file_beside(module: str, source_dir: Path | None) -> Path | None:
    """The hook's file beside the scenario, if there is one."""
    if source_dir is None:
        return None
    candidate = source_dir / Path(module if module.endswith(".py") else module.replace(".", "/") + ".py")
    return candidate if candidate.is_file() else None


def problem(reference: str, source_dir: Path | None) -> str | None:
    """Why ``reference`` cannot be the scenario's hook; None when it can (nothing is executed)."""
    module, function = split(reference)
    path = file_beside(module, source_dir)
    if path is None:
        spec = _find_spec(module.removesuffix(".py"))
        if spec is None or not spec.origin or not Path(spec.origin).is_file():
            where = source_dir or "the scenario's folder"
            return f"hook module {module!r} not found (no {Path(module).name} in {where}, nor importable)"
        path = Path(spec.origin)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, ValueError, OSError, UnicodeDecodeError) as exc:
        return f"{path.name} cannot be read as Python: {exc}"
    defined = _top_level_names(tree)
    if function not in defined:
        hint = did_you_mean(function, defined)
        listed = ", ".join(defined) or "none"
        return f"{path.name} defines no {function!r}" + (
            f" (did you mean {hint!r}?)" if hint else f" (its functions: {listed})"
        )
    return None


def load(reference: str, source_dir: Path | None) -> Callable[..., Any]:
    """The hook function, its module imported and registered in ``sys.modules``."""
    module_name, function = split(reference)
    path = file_beside(module_name, source_dir)
    if path is None:
        module = importlib.import_module(module_name.removesuffix(".py"))
        return getattr(module, function)
    # one name per file, so two scenarios' hooks.py never replace each other
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    name = f"ft_harness_hook_{path.stem}_{digest}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load hook module {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return getattr(module, function)


def _top_level_names(tree: ast.Module) -> list[str]:
    """Names a module defines at its top level: functions, classes, assignments, imports."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    return names


def _find_spec(module: str) -> Any:
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
