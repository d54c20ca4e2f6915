"""Released versions of a package, from the package index the installers are pointed at.

The simple repository API's JSON form (PEP 691/700) lists every version; local find-links
folders add the wheels found there. The indexes come from the standard variables, so the
matrix resolves against the same places uv and pip install from:
``UV_DEFAULT_INDEX``/``UV_INDEX_URL``/``PIP_INDEX_URL`` (default PyPI), ``UV_INDEX``/
``UV_EXTRA_INDEX_URL``/``PIP_EXTRA_INDEX_URL`` and ``UV_FIND_LINKS``/``PIP_FIND_LINKS``.
Answers are cached for a day under reports/.cache so listing nox sessions stays fast.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

DEFAULT_INDEX = "https://pypi.org/simple"
CACHE_TTL_S = 24 * 3600
ACCEPT_JSON = "application/vnd.pypi.simple.v1+json"


class IndexError_(Exception):
    """The index could not be asked (offline, unknown package, bad URL)."""


def _split(value: str | None) -> list[str]:
    return [part for part in re.split(r"[\s,]+", value or "") if part]


@dataclass
class PackageIndex:
    indexes: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    cache_dir: Path | None = None
    timeout_s: float = 30.0
    _memory: dict[str, list[Version]] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, cache_dir: Path | None = Path("reports/.cache")) -> PackageIndex:
        env = os.environ
        primary = env.get("UV_DEFAULT_INDEX") or env.get("UV_INDEX_URL") or env.get("PIP_INDEX_URL") or DEFAULT_INDEX
        extra = (
            _split(env.get("UV_INDEX")) + _split(env.get("UV_EXTRA_INDEX_URL")) + _split(env.get("PIP_EXTRA_INDEX_URL"))
        )
        links = _split(env.get("UV_FIND_LINKS")) + _split(env.get("PIP_FIND_LINKS"))
        return cls([primary, *dict.fromkeys(extra)], list(dict.fromkeys(links)), cache_dir)

    def versions(self, package: str, prereleases: bool = False) -> list[Version]:
        """Every released version, oldest first (yanked-only releases left out)."""
        name = canonicalize_name(package)
        if name not in self._memory:
            self._memory[name] = self._cached(name) or self._ask(name)
        found = self._memory[name]
        return [v for v in found if prereleases or not (v.is_prerelease or v.is_devrelease)]

    def _cached(self, name: str) -> list[Version] | None:
        path = self._cache_path(name)
        if path is None or not path.exists() or time.time() - path.stat().st_mtime > CACHE_TTL_S:
            return None
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or data.get("sources") != self._sources():
                return None
            return sorted({Version(v) for v in data["versions"]})
        except (OSError, ValueError, TypeError, KeyError, RecursionError, InvalidVersion):
            return None  # a damaged cache entry is asked for again, never an error

    def _ask(self, name: str) -> list[Version]:
        found: set[Version] = set()
        errors = []
        for index in self.indexes:
            try:
                found |= self._from_index(index, name)
            except IndexError_ as exc:
                errors.append(str(exc))
        for folder in self.find_links:
            found |= _from_folder(folder, name)
        if not found:
            detail = "; ".join(errors) or "no release found"
            raise IndexError_(f"no versions of '{name}' on {', '.join(self.indexes + self.find_links)} ({detail})")
        versions = sorted(found)
        path = self._cache_path(name)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"sources": self._sources(), "versions": [str(v) for v in versions]}))
        return versions

    def _from_index(self, index: str, name: str) -> set[Version]:
        if index.startswith("file://"):
            return _from_folder(index.removeprefix("file://").rstrip("/") + f"/{name}", name)
        request = urllib.request.Request(f"{index.rstrip('/')}/{name}/", headers={"Accept": ACCEPT_JSON})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return set()
            raise IndexError_(f"{index}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise IndexError_(f"{index}: {exc}") from None
        live = {_version_of(f["filename"], name) for f in data.get("files", []) if not f.get("yanked")}
        return {v for v in live if v is not None}

    def _cache_path(self, name: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / "index" / f"{name}.json"

    def _sources(self) -> list[str]:
        return self.indexes + self.find_links


def _from_folder(folder: str, name: str) -> set[Version]:
    path = Path(folder.removeprefix("file://"))
    if not path.is_dir():
        return set()
    return {v for f in path.iterdir() if (v := _version_of(f.name, name)) is not None}


def _version_of(filename: str, name: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            project, version, *_ = parse_wheel_filename(filename)
        elif filename.endswith((".tar.gz", ".zip")):
            project, version = parse_sdist_filename(filename)
        else:
            return None
    except (InvalidWheelFilename, InvalidVersion, ValueError):
        return None
    return Version(version.base_version if version.local else str(version)) if project == name else None
