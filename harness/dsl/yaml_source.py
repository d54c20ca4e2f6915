"""Safe YAML loading that remembers where every value came from.

PyYAML's ``SafeLoader`` never constructs arbitrary Python objects; on top of it we keep a map from
each value's path (``("peft", "config", "r")``) to its line, so a schema error can point at the
exact line of the offending key. Duplicate keys, which YAML silently collapses, are errors here.

Files are untrusted input: one larger than MAX_FILE_BYTES is refused unread, and the composed node
graph is measured before anything is built from it, so aliases (which YAML shares, and building
would copy) may expand a document to MAX_EXPANDED_NODES values and MAX_DEPTH levels at most: a
383-byte alias bomb is one clear error, not gigabytes of lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InputError

Loc = tuple[str | int, ...]

# Scenario, limits and matrix files are a few kB; the largest in the catalog is under 10 kB.
MAX_FILE_BYTES = 1024 * 1024
# Values of the document once its aliases are expanded; the catalog's largest has a few hundred.
MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 64


@dataclass
class Located:
    """A parsed YAML document plus the line of each value, addressed by its path."""

    data: Any
    file: Path
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """Line of the deepest known prefix of ``loc`` (1-based)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return 1


def load_yaml(file: Path, text: str | None = None) -> Located:
    """Parse one YAML document from ``file``; raise :class:`InputError` with file:line on error."""
    if text is None:
        text = _read(file)
    if len(text) > MAX_FILE_BYTES:
        raise InputError(f"a file of {len(text)} characters is too large (limit {MAX_FILE_BYTES // 1024} kB)", file)
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is not None:
            _check_size(node)
        located = Located(None, file)
        located.data = _construct(loader, node, (), located.lines) if node is not None else None
        return located
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise InputError(f"YAML syntax error: {problem}", file, line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise InputError(f"YAML error: character {exc.character!r} is not allowed in YAML", file, line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", file, 1) from None
    except RecursionError:
        raise InputError(f"YAML nested too deeply (limit {MAX_DEPTH} levels)", file, 1) from None
    except InputError as exc:
        raise exc.located(file, None) from None
    finally:
        if loader is not None:
            loader.dispose()


def _read(file: Path) -> str:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"a file of {size} bytes is too large (limit {MAX_FILE_BYTES // 1024} kB)", file)
        with file.open(encoding="utf-8") as handle:
            return handle.read(MAX_FILE_BYTES + 1)  # (a file that grows meanwhile is still capped)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc}", file) from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases would expand it past the budget, before building it.

    Aliases are shared nodes; this walks each node once (no recursion) and adds up how many
    values, and how many levels, each one stands for once expanded.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth) when expanded
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = [sizes[id(child)] for child in _children(node)]
            values = 1 + sum(count for count, _ in children)
            depth = 1 + max((deep for _, deep in children), default=0)
            sizes[key] = (values, depth)
            open_nodes.discard(key)
            if values > MAX_EXPANDED_NODES:
                raise InputError(
                    f"YAML aliases expand this document past {MAX_EXPANDED_NODES} values (an alias bomb?); refused",
                    None,
                    node.start_mark.line + 1,
                )
            if depth > MAX_DEPTH:
                raise InputError(f"YAML nested too deeply (limit {MAX_DEPTH} levels)", None, node.start_mark.line + 1)
            continue
        if key in sizes:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise InputError(
                    "a YAML alias refers to its own anchor (a recursive alias)", None, child.start_mark.line + 1
                )
            if id(child) not in sizes:
                stack.append((child, False))


PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _construct(loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in PLAIN_COLLECTION_TAGS:
        # Scalars go through SafeLoader, which refuses unknown tags; collections are walked here.
        raise InputError(
            f"unsupported YAML tag '{node.tag}' (scenario files are plain data)", None, node.start_mark.line + 1
        )
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves '<<' merge keys like SafeLoader does
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise InputError(f"mapping keys must be plain scalars, got {key!r}", None, key_node.start_mark.line + 1)
            if key in result:
                raise InputError(f"duplicate key '{key}'", None, key_node.start_mark.line + 1)
            child = (*loc, key)
            lines[child] = key_node.start_mark.line + 1
            result[key] = _construct(loader, value_node, child, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*loc, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
