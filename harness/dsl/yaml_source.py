"""Safe YAML loading that remembers where every value came from.

PyYAML's ``SafeLoader`` never constructs arbitrary Python objects; on top of it we keep a map from
each value's path (``("peft", "config", "r")``) to its line, so a schema error can point at the
exact line of the offending key. Duplicate keys, which YAML silently collapses, are errors here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InputError

Loc = tuple[str | int, ...]


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
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read file: {exc}", file) from None
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
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
    except InputError as exc:
        raise exc.located(file, None) from None
    finally:
        if loader is not None:
            loader.dispose()


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
