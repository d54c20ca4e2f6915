"""Writing a minimal failure as a ready catalog entry: scenarios/found/found-<signature id>.yaml.

The file holds only the non-default fields, expects exactly what was observed (outcome, phase,
error type and a message regex robust to numbers, shapes and paths) from the versions it was
found with on (`when:` lower bounds: a bug stays open until a run shows it fixed, which is then
an unexpected pass to look at), and starts with a comment naming the environment and the date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from harness import packages
from harness.dsl.schema import OutcomePattern
from harness.explore.strategies import DEFAULT_FAMILY, Fields, non_default
from harness.quantization import BACKENDS
from harness.record import Record
from harness.signature import normalize
from harness.verdict import mismatches

# What signature.normalize puts where text varies between runs; a regex must not span one.
VARIABLE = re.compile(r"<(?:n|shape|path|addr|version)>")
REGEX_SPECIAL = re.compile(r"[.^$*+?{}\[\]\\|()]")
MIN_PIECE = 6
MAX_PIECE = 80
MAX_DESCRIPTION = 200


@dataclass
class Finding:
    """One new signature and the smallest combination showing it."""

    fields: Fields
    record: Record
    example: int  # the exploration's example number where the signature first appeared
    round: int
    cut_short: bool = False  # the budget ran out while hypothesis was shrinking
    reset: list[str] = field(default_factory=list)  # fields the final pass put back to default
    path: Path | None = None
    status: str = ""  # written / exists / not reproducible: ... (set when written)
    notes: list[str] = field(default_factory=list)

    @property
    def signature_id(self) -> str:
        assert self.record.signature is not None
        return self.record.signature.id

    @property
    def scenario_id(self) -> str:
        return f"found-{self.signature_id}"


def distinctive(text: str) -> str | None:
    """The longest literal stretch of ``text``'s first statement that holds no number, shape or path.

    Searching for it (escaped) matches the same failure on another machine or model size, where
    the whole message would not.
    """
    # Split pieces keep their quotes (balanced in messages) but not the brackets or separators
    # that surrounded the variable part: "cannot be multiplied (" -> "cannot be multiplied".
    pieces = (piece.lstrip(" \t.,;:=)]}").rstrip(" \t.,;:=([{") for piece in VARIABLE.split(normalize(text)))
    candidates = [piece for piece in pieces if len(piece) >= MIN_PIECE and piece in text]
    if not candidates:
        return None
    best = max(candidates, key=len)
    if len(best) > MAX_PIECE:
        best = best[:MAX_PIECE].rsplit(" ", 1)[0].rstrip(" .,;:=([{")
    return best


def escape(text: str) -> str:
    """``re.escape`` for YAML readers: only the characters that mean something in a regex."""
    return REGEX_SPECIAL.sub(r"\\\g<0>", text)


def expectation(record: Record, env: dict[str, Any]) -> dict[str, Any]:
    """The observed outcome as an `expect` entry, checked against the record it came from."""
    backend = str((record.scenario.get("quantization") or {}).get("backend", "none"))
    since = found_since(env, BACKENDS[backend].requires if backend in BACKENDS else ())
    entry: dict[str, Any] = {"when": _Flow(since), "outcome": record.outcome, "phase": record.phase}
    if record.error is not None and record.outcome == "failed":
        entry["error"] = record.error.type.rsplit(".", 1)[-1]
        piece = distinctive(record.error.message)
        if piece:
            entry["message"] = escape(piece)
    else:
        failed_checks = "; ".join(record.checks.failed)
        key, text = ("check", failed_checks) if failed_checks else ("reason", record.reason or "")
        piece = distinctive(text)
        if piece:
            entry[key] = escape(piece)
    pattern = OutcomePattern.model_validate({k: v for k, v in entry.items() if k != "when" and v is not None})
    _, failed = mismatches(pattern, record.model_dump(mode="json"))
    if failed:  # cannot happen unless the regex derivation is wrong: fail loudly, write nothing
        raise ValueError(f"derived expectation does not match its own record: {failed}")
    return {k: v for k, v in entry.items() if v is not None}


def found_since(env: dict[str, Any], backend_packages: tuple[str, ...] = ()) -> dict[str, str]:
    """`when:` conditions from the versions found with on (local build tags like +cpu dropped), for
    the packages that decide what this fine-tuning step does: torch, transformers, peft and the
    quantization backend's own packages (another backend's package, installed or not, changes
    nothing here).

    Exact pins would make the entry expect `passed` on the next release of any of these packages,
    so every release would break the catalog's own run without anything having been fixed.
    """
    names = (*packages.MODEL_STACK, *backend_packages)
    return {name: ">=" + str(env[name]).split("+", 1)[0] for name in names if env.get(name)}


def describe(fields: Fields, record: Record) -> str:
    """One line: the combination, then how it fails."""
    flat = non_default(fields)
    family = fields["model"]["family"]
    method = flat.pop("peft.method", "lora")
    flat.pop("model.family", None)
    subject = f"{method} on a tiny {family}" if method != "none" else f"no adapter on a tiny {family}"
    details = ", ".join(f"{_short(path)}={_value(value)}" for path, value in flat.items())
    combination = subject + (f" ({details})" if details else "")
    how = f"{record.outcome} at {record.phase}" if record.phase else record.outcome
    if record.error is not None and record.outcome == "failed":
        how += f": {record.error.type.rsplit('.', 1)[-1]}"
        piece = distinctive(record.error.message)
        how += f": {piece}" if piece else ""
    elif record.reason:
        how += f": {record.reason}"
    line = " ".join(f"{combination} {how}".split())
    return line if len(line) <= MAX_DESCRIPTION else line[: MAX_DESCRIPTION - 3].rstrip() + "..."


def _short(path: str) -> str:
    # "quantization.backend" reads as "backend"; keep the section where the leaf alone is vague.
    parts = path.split(".")
    return ".".join(parts[-2:]) if parts[-1] in ("enabled", "mode", "config") else parts[-1]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def document(finding: Finding, env: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """The scenario file's content, in the order a reader expects."""
    fields = finding.fields
    data: dict[str, Any] = {
        "id": finding.scenario_id,
        "description": describe(fields, finding.record),
        "tags": ["found", "explore"],
    }
    data["model"] = fields.get("model", {"family": DEFAULT_FAMILY})
    for section in ("peft", "quantization", "checkpointing", "precision", "inputs", "steps", "checks"):
        if fields.get(section):
            data[section] = fields[section]
    if finding.record.outcome == "timed_out":
        # It hung under the exploration's limit; a normal run must give up just as soon.
        data["timeout"] = timeout or finding.record.scenario.get("timeout", 120)
    data["expect"] = [expectation(finding.record, env)]
    return data


def observed(record: Record) -> str:
    text = f"{record.outcome} at {record.phase}"
    if record.error is not None:
        return text + f": {record.error.type}: {record.error.message.strip().splitlines()[0][:160]}"
    return text + (f": {record.reason}" if record.reason else "")


def header(finding: Finding, env: dict[str, Any], seed: int, when: datetime) -> str:
    signature = finding.record.signature
    assert signature is not None
    versions = ", ".join(f"{name} {env[name]}" for name in packages.cell_order() if env.get(name))
    lines = [
        f"Found by `harness explore` on {when:%Y-%m-%d %H:%M} UTC (seed {seed}, round {finding.round}, "
        f"first seen at example {finding.example}); {shrinking(finding)}.",
        f"Signature {signature.id}: {signature.text}",
        f"Environment: {versions}; device {env.get('device', 'cpu')}; {env.get('platform', '?')}",
        f"Observed: {observed(finding.record)}",
    ]
    return "".join(f"# {line}\n" for line in lines)


class _Dumper(yaml.SafeDumper):
    """Double quotes where YAML's single quotes would double every quote of an error message."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    quoted = "'" in value or value.startswith(("=", "<", ">", "!", "~"))
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if quoted else None)


class _Flow(dict):  # type: ignore[type-arg]
    """A mapping written on one line (`when: {torch: "==2.13.0", ...}`) whatever its quoting."""


def _flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", dict(value), flow_style=True)


_Dumper.add_representer(str, _string)
_Dumper.add_representer(_Flow, _flow)


def shrinking(finding: Finding) -> str:
    """How the example got minimal, for the file header and the summary."""
    how = "shrunk by hypothesis" + (" (cut short by the budget)" if finding.cut_short else "")
    if finding.reset:
        how += f", then {', '.join(finding.reset)} reset to default"
    return how


def render(
    finding: Finding, env: dict[str, Any], seed: int, when: datetime | None = None, timeout: float | None = None
) -> str:
    when = when or datetime.now(timezone.utc)
    body = yaml.dump(
        document(finding, env, timeout),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,
        width=240,
        allow_unicode=True,
    )
    return header(finding, env, seed, when) + body


def write(finding: Finding, out_dir: Path, env: dict[str, Any], seed: int, timeout: float | None = None) -> Path | None:
    """Write the finding's file; None when a file with its id exists already (never overwritten)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{finding.scenario_id}.yaml"
    finding.path = path
    if path.exists():
        return None
    path.write_text(render(finding, env, seed, timeout=timeout), encoding="utf-8")
    return path
