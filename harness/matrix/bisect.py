"""`harness bisect`: the release of one package where a scenario's behaviour changes.

Every released version between the two endpoints gets its own environment (uv, reused when the
same pins come again), the other packages pinned; the scenario runs there in isolation. A step
that cannot be built or imported is skipped and a neighbour tried, as `git bisect skip` does.
"Behaviour" is the outcome plus the error signature, or with ``--on FIELD`` one field of the
record (``effective.trainable_dtypes``, ``checks.failed``, ``outcome``), optionally with a
predicate of harness.predicates (``effective.trainable_dtypes.float32=null``,
``checks.results.adapter-dtype.passed=false``): that locates a silent change, where the outcome
may stay ``passed`` while a value moves. A step is good only when it behaves exactly like the
--good endpoint (the same outcome and signature, the same field value, or the same predicate
result); anything else (the --bad behaviour or a third one) counts as bad, so the search ends at
the release where the good behaviour starts or stops. It works in either direction: with --good
newer than --bad it finds the release that fixed a failure.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from harness import outcomes, predicates
from harness.errors import InputError, choices_hint
from harness.matrix.build import build_environment, find_uv
from harness.matrix.cells import Cell
from harness.matrix.index import PackageIndex
from harness.matrix.resolve import nearest
from harness.record import Record

# Record outcomes that mean "this version could not be tried", not "it behaved this way".
UNTRIED = outcomes.UNBUILT


# The top-level fields of a result record, which `--on` paths start with.
RECORD_FIELDS = tuple(field.alias or name for name, field in Record.model_fields.items())


@dataclass(frozen=True)
class Judge:
    """What a step is judged by: outcome and error signature, or one record field (`--on`)."""

    spec: str | None = None
    path: str | None = None
    predicate: Any = predicates.NO_PREDICATE

    @classmethod
    def parse(cls, spec: str | None) -> Judge:
        """``None`` (outcome + signature), ``PATH``, ``PATH=YAML`` or ``PATH<op>VALUE``; InputError if malformed."""
        if spec is None:
            return cls()
        try:
            path, predicate = predicates.parse_field(spec)
        except ValueError as exc:
            raise InputError(f"--on {exc}") from None
        head = path.split(".", 1)[0]
        if head not in RECORD_FIELDS:
            hint = choices_hint(head, RECORD_FIELDS)
            raise InputError(f"--on {spec!r}: '{head}' is not a field of a result record ({hint})")
        return cls(spec, path, predicate)

    def value(self, record: dict[str, Any]) -> Any:
        """The judged value: (outcome, signature id), the field's value, or the predicate's result."""
        if self.path is None:
            return record["outcome"], (record.get("signature") or {}).get("id")
        found = predicates.lookup(record, self.path)
        return found if self.predicate is predicates.NO_PREDICATE else predicates.holds(self.predicate, found)

    def describe(self, record: dict[str, Any]) -> str:
        """'effective.trainable_dtypes.float32=null: false (8)'; empty when judging by outcome."""
        if self.path is None:
            return ""
        found = predicates.lookup(record, self.path)
        if self.predicate is predicates.NO_PREDICATE:
            return f"{self.path} = {predicates.render(found)}"
        return f"{self.spec}: {predicates.render(self.value(record))} ({self.path} = {predicates.render(found)})"

    @property
    def label(self) -> str:
        return self.spec or "outcome and error signature"


def record_value(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a record; None where the record has none."""
    found = predicates.lookup(record, path)
    return None if found is predicates.MISSING else found


@dataclass
class Step:
    version: str
    record: dict[str, Any] | None
    build: str = "ok"

    def behaviour(self, judge: Judge) -> Any:
        """What this step is judged by, or None when the version could not be tried."""
        if self.record is None or self.record["outcome"] in UNTRIED:
            return None
        return judge.value(self.record)

    def describe(self, judge: Judge | None = None) -> str:
        if self.record is None:
            return f"{self.version}: not tried ({self.build})"
        record = self.record
        error = record.get("error") or {}
        message = " ".join(error.get("message", "").split())  # one line, whatever the library printed
        detail = (error.get("type") and f"{error['type']}: {message[:160]}") or (record.get("reason") or "")[:160]
        judged = judge.describe(record) if judge and record["outcome"] not in UNTRIED else ""
        return (
            f"{self.version}: {record['outcome']} at {record.get('phase')}"
            + (f" ({detail})" if detail else "")
            + (f" | {judged}" if judged else "")
        )


@dataclass
class Bisection:
    versions: list[str]
    steps: dict[str, Step] = field(default_factory=dict)
    # the boundary: the last version on the low endpoint's side and the first on the high one's
    last_low_side: str | None = None
    first_high_side: str | None = None


def candidate_versions(index: PackageIndex, package: str, good: str, bad: str, prereleases: bool) -> list[str]:
    released = index.versions(package, prereleases=prereleases)
    endpoints = []
    for label, value in (("--good", good), ("--bad", bad)):
        try:
            wanted = Version(value)
        except InvalidVersion:
            raise InputError(f"{label} {value!r} is not a version") from None
        if wanted not in released:
            raise InputError(f"{label}: {package} {value} does not exist ({nearest(wanted, released)})")
        endpoints.append(wanted)
    low, high = sorted(endpoints)
    if low == high:
        raise InputError("--good and --bad are the same version")
    return [str(v) for v in released if low <= v <= high]


def bisect(
    versions: list[str],
    good: str,
    try_version: Callable[[str], Step],
    log: Callable[[str], None],
    judge: Judge = Judge(),
) -> Bisection:
    """Binary search for where the behaviour of the ``good`` endpoint (as ``judge`` sees it) starts or stops."""
    result = Bisection(versions=versions)
    low, high = (result.steps.setdefault(v, try_version(v)) for v in (versions[0], versions[-1]))
    for step in (low, high):
        log(f"  {step.describe(judge)}")
        if step.behaviour(judge) is None:
            raise InputError(f"cannot bisect: the endpoint {step.version} could not be tried ({step.build})")
    if low.behaviour(judge) == high.behaviour(judge):
        raise InputError(
            f"{versions[0]} and {versions[-1]} behave the same by {judge.label} "
            f"({low.describe(judge)}); nothing to bisect"
        )
    good_behaviour = (low if low.version == good else high).behaviour(judge)
    low_is_good = low.behaviour(judge) == good_behaviour
    left, right = 0, len(versions) - 1
    untried: set[int] = set()
    while right - left > 1:
        position = _next_position(left, right, untried)
        if position is None:
            break  # every version in between was unbuildable
        step = result.steps.setdefault(versions[position], try_version(versions[position]))
        log(f"  {step.describe(judge)}")
        behaviour = step.behaviour(judge)
        if behaviour is None:
            untried.add(position)
        elif (behaviour == good_behaviour) == low_is_good:
            left = position
        else:
            right = position
    result.last_low_side, result.first_high_side = versions[left], versions[right]
    return result


def _next_position(left: int, right: int, untried: set[int]) -> int | None:
    middle = (left + right) // 2
    candidates = sorted(range(left + 1, right), key=lambda i: (abs(i - middle), i))
    return next((i for i in candidates if i not in untried), None)


def trial(
    scenario_id: str,
    package: str,
    pins: dict[str, str],
    paths: tuple[str, ...],
    project: Path,
    workdir: Path,
    python: str,
) -> Callable[[str], Step]:
    """A function that builds the environment for one version and runs the scenario there."""

    def run_one(version: str) -> Step:
        cell = Cell(pins={"python": python, **pins, package: version})
        key = hashlib.sha1(json.dumps(cell.requirements).encode()).hexdigest()[:12]
        venv = workdir / f"{package}-{version}-{key}"
        if not (venv / "bin" / "python").exists():
            subprocess.run(_venv_command(python, venv), check=True, capture_output=True)
        build = build_environment(venv, cell, project)
        if build.outcome != "ok":
            return Step(version, None, build.outcome)
        out = venv / "bisect.jsonl"
        out.unlink(missing_ok=True)
        command = [
            str(venv / "bin" / "python"),
            "-m",
            "harness",
            "run",
            *paths,
            "--id",
            scenario_id,
            "--out",
            str(out),
            "--cell",
            f"bisect-{package}{version}",
        ]
        done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=project)
        if not out.exists():
            return Step(version, None, f"harness exited {done.returncode}: {done.stderr.strip()[-300:]}")
        return Step(version, json.loads(out.read_text().splitlines()[-1]))

    return run_one


def _venv_command(python: str, venv: Path) -> list[str]:
    uv = find_uv()
    if uv:
        return [uv, "venv", "--quiet", "--python", python, str(venv)]
    return [sys.executable, "-m", "venv", str(venv)]
