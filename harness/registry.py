"""One registry per scenario dimension: a name maps to the small module that implements it.

Entries are import paths, resolved on first use, so listing names (for validation, the JSON
Schema and error messages) never imports torch or the module behind an entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from harness.errors import choices_hint

T = TypeVar("T")


class UnknownName(ValueError):
    pass


class Registry(Generic[T], Mapping[str, T]):
    """Maps a name to an object defined in ``module:attribute``; imported lazily."""

    def __init__(self, kind: str, entries: Mapping[str, str]):
        self.kind = kind
        self._paths = dict(entries)
        self._loaded: dict[str, T] = {}

    def names(self) -> list[str]:
        return sorted(self._paths)

    def check(self, name: str) -> str:
        """Return ``name`` if registered, else raise a message listing the valid choices."""
        if name not in self._paths:
            raise UnknownName(f"unknown {self.kind} '{name}' ({choices_hint(name, self._paths)})")
        return name

    def __getitem__(self, name: str) -> T:
        self.check(name)
        if name not in self._loaded:
            module_name, _, attribute = self._paths[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module_name), attribute)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, name: object) -> bool:
        return name in self._paths
