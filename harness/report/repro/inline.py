"""Plain source for a repro script: harness functions inlined with what they use, and Python literals.

The families' input builders (and a Trainer's row splitting) are inlined verbatim from their
modules, with the module-level helpers and constants they reference, so a script builds exactly
the batch the harness built. ``_inputs.token_ids(...)`` becomes ``token_ids(...)``.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import keyword
import math
import sys
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LINE = 100


class ReproError(Exception):
    """The record cannot be turned into a standalone script (said why)."""


@dataclass
class Call:
    """A recorded constructor call, rendered as code: transformers.LlavaConfig(vision_config=...)."""

    module: str
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Code:
    """An expression written as is (torch.bfloat16, tempfile.mkdtemp())."""

    text: str


class Recorder:
    """Stands in for a module while a config factory runs: records calls instead of making them.

    ``Recorder("torch").bfloat16`` is written as ``torch.bfloat16``; calling an attribute records
    the call (``transformers.BitsAndBytesConfig(load_in_4bit=True)``).
    """

    def __init__(self, module: str):
        self._module = module

    def __getattr__(self, name: str) -> Reference:
        if name.startswith("__"):
            raise AttributeError(name)
        return Reference(self._module, name)


@dataclass(frozen=True)
class Reference:
    """A module attribute seen through a Recorder: a value written by name, or a call recorded."""

    module: str
    name: str

    def __call__(self, **kwargs: Any) -> Call:
        return Call(self.module, self.name, kwargs)

    def __getattr__(self, name: str) -> Reference:
        if name.startswith("__"):
            raise AttributeError(name)
        return Reference(f"{self.module}.{self.name}", name)


class RecordingModules:
    """``modules("torchao.quantization")`` for emitters: a Recorder, and the import it needs noted."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, module: str) -> Any:
        self.used.add(module)
        return Recorder(module)


def literal(value: Any, indent: int = 0) -> str:
    """Python source for a value (JSON-like data and recorded calls), wrapped past LINE columns."""
    flat = _flat(value)
    if len(flat) + indent <= LINE or not isinstance(value, (dict, list, tuple, Call)):
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, Call):
        if all(_identifier(k) for k in value.kwargs):
            items = [f"{pad}{k}={literal(v, indent + 4)}," for k, v in value.kwargs.items()]
            return f"{value.module}.{value.name}(\n" + "\n".join(items) + f"\n{' ' * indent})"
        return f"{value.module}.{value.name}(**{literal(value.kwargs, indent)})"
    if isinstance(value, dict):
        items = [f"{pad}{_flat(k)}: {literal(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{' ' * indent}}}"
    opener, closer = ("[", "]") if isinstance(value, list) else ("(", ")")
    items = [f"{pad}{literal(v, indent + 4)}," for v in value]
    return opener + "\n" + "\n".join(items) + f"\n{' ' * indent}{closer}"


def _flat(value: Any) -> str:
    if isinstance(value, Code):
        return value.text
    if isinstance(value, Reference):
        return f"{value.module}.{value.name}"
    if isinstance(value, Call):
        if all(_identifier(k) for k in value.kwargs):
            inner = ", ".join(f"{k}={_flat(v)}" for k, v in value.kwargs.items())
        else:
            inner = f"**{_flat(value.kwargs)}"
        return f"{value.module}.{value.name}({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, str):
        # A valid Python literal, in double quotes; what a source file should not hold raw (line
        # separators, lone surrogates, other unprintables) goes in as an escape.
        return printable(json.dumps(value, ensure_ascii=False))
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise ReproError(f"cannot write {type(value).__name__} {value!r} as a Python literal")


def printable(text: str) -> str:
    """``text`` with each unprintable character but the newline written as its Python escape."""
    return "".join(c if c.isprintable() or c == "\n" else ascii(c)[1:-1] for c in text)


def one_line(text: object) -> str:
    """Any text as one printable line, safe in a comment or inside a docstring."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in escaped)


def docstring(text: str) -> str:
    """A triple-quoted literal holding exactly ``text``, readable where the text allows."""
    out: list[str] = []
    quotes = 0
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char == '"' and (quotes == 2 or index == len(text) - 1):
            out.append('\\"')  # would close the literal (or touch its closing quotes)
        elif char == "\n" or char.isprintable():
            out.append(char)
        else:
            out.append(ascii(char)[1:-1])
        quotes = quotes + 1 if out[-1] == '"' else 0
    source = '"""' + "".join(out) + '"""'
    if ast.literal_eval(source) != text:  # by construction; checked all the same
        raise ReproError("cannot write the record's text as a docstring")
    return source


def _identifier(name: object) -> bool:
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def call_kwargs(kwargs: dict[str, Any], indent: int) -> str:
    """`a=1, b="x"` (or `**{...}` for keys that are not identifiers) for a call's argument list."""
    return literal(Call("_", "_", kwargs), indent)[len("_._(") : -1]


def call(
    function: str, kwargs: dict[str, Any], indent: int, positional: tuple[str, ...] = (), trailing: tuple[str, ...] = ()
) -> str:
    """`function(positional..., key=value, ..., trailing...)`, one argument per line when it gets long."""
    arguments = [*positional, *(f"{k}={_flat(v)}" for k, v in kwargs.items()), *trailing]
    flat = f"{function}({', '.join(arguments)})"
    if len(flat) + indent <= LINE and all(_identifier(k) for k in kwargs):
        return flat
    pad = " " * (indent + 4)
    if all(_identifier(k) for k in kwargs):
        lines = [*positional, *(f"{k}={literal(v, indent + 4)}" for k, v in kwargs.items()), *trailing]
    else:
        lines = [*positional, f"**{literal(kwargs, indent + 4)}", *trailing]
    return f"{function}(\n" + "\n".join(f"{pad}{line}," for line in lines) + f"\n{' ' * indent})"


# -- inlining functions -------------------------------------------------------------------------


@dataclass
class _Collected:
    imports: dict[str, str] = field(default_factory=dict)  # local name -> import statement
    constants: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # name -> source, dependencies first
    origin: dict[str, object] = field(default_factory=dict)


def inline_functions(functions: list[Callable[..., Any]]) -> str:
    """The functions' source, preceded by the imports, constants and helpers they use."""
    collected = _Collected()
    for function in functions:
        _collect(function, collected)
    parts = sorted(set(collected.imports.values()))
    if collected.constants:
        parts.append("")
        parts += [f"{name} = {literal(value)}" for name, value in collected.constants.items()]
    for source in collected.functions.values():
        parts += ["", "", source.rstrip()]
    return "\n".join(parts).strip() + "\n"


def _collect(function: Callable[..., Any], collected: _Collected) -> None:
    name = function.__name__
    if name in collected.functions:
        if collected.origin.get(name) is not function:
            raise ReproError(f"two inlined helpers are both called {name!r}")
        return
    module = sys.modules[function.__module__]
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    if any(_imports_harness(node) for node in ast.walk(tree)):
        raise ReproError(f"{function.__module__}.{name} imports the harness itself; it cannot be inlined")
    collected.origin[name] = function
    for used, attribute in _free_names(tree):
        value = module.__dict__.get(used)
        if value is None and used not in module.__dict__:
            continue
        if isinstance(value, types.ModuleType):
            if attribute is not None and _is_harness(value):
                source = source.replace(f"{used}.{attribute}", attribute)
                _collect(getattr(value, attribute), collected)
            else:
                collected.imports[used] = _import_statement(used, value)
        elif inspect.isfunction(value) and _is_harness(sys.modules[value.__module__]):
            _collect(value, collected)
        elif isinstance(value, (int, float, str, tuple, list, dict, bool)) or value is None:
            collected.constants[used] = value
        else:  # a script that fails with NameError would be a lie about the record: refuse to write it
            raise ReproError(
                f"{function.__module__}.{name} uses {used} ({type(value).__name__}), which cannot be inlined: "
                "make it a plain constant or function"
            )
    collected.functions[name] = source


def _imports_harness(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] == "harness"
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "harness" for alias in node.names)
    return False


def _is_harness(module: types.ModuleType) -> bool:
    return module.__name__ == "harness" or module.__name__.startswith("harness.")


def _import_statement(name: str, module: types.ModuleType) -> str:
    if module.__name__ == name:
        return f"import {name}"
    return f"import {module.__name__} as {name}"


def _free_names(tree: ast.AST) -> list[tuple[str, str | None]]:
    """Names a function reads from its module (not its own locals), with `name.attr` accesses."""
    local: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            local.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    found: list[tuple[str, str | None]] = []
    bases: set[int] = set()
    nodes = _walk_code(tree)
    for node in nodes:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            bases.add(id(node.value))
            if node.value.id not in local:
                found.append((node.value.id, node.attr))
    for node in nodes:
        if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load) or id(node) in bases:
            continue
        if node.id not in local and not hasattr(builtins, node.id):
            found.append((node.id, None))
    return found


def _walk_code(tree: ast.AST) -> list[ast.AST]:
    """Every node except annotations (never evaluated under `from __future__ import annotations`)."""
    nodes: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns"):
                continue
            children = value if isinstance(value, list) else [value]
            stack += [child for child in children if isinstance(child, ast.AST)]
    return nodes
