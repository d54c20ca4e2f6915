"""Result files: JSON lines, appended and flushed one record at a time, under a file lock.

A run killed at any moment keeps every record it completed; two runs appending to the same file
interleave whole lines. A writer never glues a record onto a torn line (what a kill during a
write or a full disk leaves): it removes the fragment first, and says so. A write that fails
(a full disk) is undone and stops the run with one clear message, every complete record kept.

Everything read back is untrusted input: each line is decoded, parsed and validated against the
record schema (:class:`ReadRecord`: the record, with every nested part the report, ``show`` and
``repro`` read given its type) before anyone uses it. A line that fails is skipped and reported
with its file:line; the rest is never lost.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import re
import tempfile
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from harness.dsl.schema import Claim, Expectation, Scenario
from harness.errors import InputError
from harness.record import SCHEMA, Record

# A record is a few kB; a line this long is not one (and would only cost memory to parse).
MAX_LINE_BYTES = 16 * 1024 * 1024
# Records nest a dozen levels at most; deeper documents are refused before anything recurses.
MAX_DEPTH = 40


class ResultsWriteError(InputError):
    """The results file cannot be created or written (a bad path, no permission, a full disk)."""


def _warn(message: str) -> None:
    from rich.markup import escape

    from harness import console

    console.err.print(f"[bold yellow]warning:[/] {escape(message)}", soft_wrap=True)


# -- writing ------------------------------------------------------------------------------------


class ResultWriter:
    def __init__(self, path: Path):
        self.path = path
        check_writable(path)

    def write(self, record: Record) -> None:
        # A lone surrogate (from a hostile error message) still makes a line of valid JSON: \udcff.
        line = record.to_line().encode("utf-8", "backslashreplace")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ResultsWriteError(f"cannot open the results file for writing: {exc.strerror}", self.path) from None
        try:
            # An exclusive lock on the file itself: concurrent writers append whole lines.
            fcntl.flock(fd, fcntl.LOCK_EX)
            _repair_tail(fd, self.path)
            size = os.fstat(fd).st_size
            try:
                _write_all(fd, line)
            except OSError as exc:
                _undo(fd, size)
                raise ResultsWriteError(_write_failure(exc), self.path) from None
        finally:
            os.close(fd)  # also releases the lock


def check_writable(path: Path) -> None:
    """Raise ResultsWriteError unless ``path`` can be created (or appended to): checked before a
    run starts, so an impossible --out costs no variant."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "is a directory")
            if path.is_file() and not path.stat().st_mode & 0o222:
                # Marked read-only for everyone: root could open it, not mean to write it.
                raise PermissionError(errno.EACCES, "the file is read-only")
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        else:
            # A probe file of our own, never ``path``: another run may create ``path`` and append to
            # it at any moment, and creating then unlinking ``path`` would fail on (or delete) its records.
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
                pass
    except OSError as exc:
        raise ResultsWriteError(f"cannot write the results file here: {exc.strerror or exc}", path) from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _undo(fd: int, size: int) -> None:
    """Remove a partly written line, so the file keeps complete records only."""
    try:
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
    except OSError:
        pass  # a device such as /dev/full cannot be truncated; nothing was written to it either


def _write_failure(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"cannot write the results file: {exc.strerror} (the disk is full); the run stops here, every "
            "complete record before this one is kept; free space, then add --resume to run the rest"
        )
    return f"cannot write the results file: {exc.strerror or exc}; the run stops here, every complete record is kept"


def _repair_tail(fd: int, path: Path) -> None:
    """A last line without its newline is a torn write: drop the fragment (or end a complete
    record's line) before appending, so the next record starts on a line of its own."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    start = _last_line_start(fd, size)
    fragment = os.pread(fd, size - start, start)
    line_number = _count_newlines(fd, start) + 1
    if _is_complete_record(fragment):
        os.pwrite(fd, b"\n", size)  # at the end, whatever the descriptor's mode
        _warn(f"{path}:{line_number}: the last record had no newline; ended its line before appending")
        return
    os.ftruncate(fd, start)
    _warn(
        f"{path}:{line_number}: removed a torn last line ({size - start} bytes of an unfinished record: "
        "a write was cut short) before appending; its variant runs again"
    )


def repair_torn_tail(path: Path) -> None:
    """Fix a torn last line of ``path`` now (under the writers' lock), reporting what was done."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return  # not there or not writable: the writer's own check says so
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _repair_tail(fd, path)
    except OSError as exc:
        _warn(f"{path}: cannot repair its last line: {exc.strerror or exc}")
    finally:
        os.close(fd)


def _last_line_start(fd: int, size: int) -> int:
    end = size
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


def _count_newlines(fd: int, end: int) -> int:
    count, offset = 0, 0
    while offset < end:
        chunk = os.pread(fd, min(1 << 20, end - offset), offset)
        if not chunk:
            break
        count += chunk.count(b"\n")
        offset += len(chunk)
    return count


def _is_complete_record(fragment: bytes) -> bool:
    try:
        return isinstance(_parse(fragment.decode("utf-8")), dict)
    except (ValueError, RecursionError):
        return False


# -- reading ------------------------------------------------------------------------------------


@dataclass
class Loaded:
    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_results(paths: Iterable[Path]) -> Loaded:
    loaded = Loaded()
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            loaded.problems.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        # Split on newlines only: JSON escapes them inside strings, but not U+2028 and the other
        # separators str.splitlines() would cut a valid record at.
        lines = data.split(b"\n")
        torn = lines[-1] != b""  # the file does not end with a newline
        for number, line in enumerate(lines, 1):
            if line.strip():
                last = torn and number == len(lines)
                problem = _read_line(line, loaded.records, last)
                if problem:
                    loaded.problems.append(f"{path}:{number}: {problem}; skipped")
    return loaded


def _read_line(line: bytes, records: list[Record], last_unterminated: bool) -> str | None:
    """Appends the line's record, or returns why it cannot be used."""
    if len(line) > MAX_LINE_BYTES:
        return f"a line of {len(line)} bytes is not a record (limit {MAX_LINE_BYTES})"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1})"
    if _text_depth(text) > MAX_DEPTH:
        return f"not a record: nested deeper than {MAX_DEPTH} levels"
    try:
        data = _parse(text)
    except RecursionError:
        return "not a record: nested too deeply to parse"
    except ValueError as exc:
        if last_unterminated:
            return "not a complete JSON record (truncated write?)"
        return f"not a JSON record ({exc})"
    return _check(data, records, text)


def _check(data: Any, records: list[Record], text: str) -> str | None:
    if not isinstance(data, dict):
        return f"not a record: a JSON {type(data).__name__}, not an object"
    schema = data.get("schema")
    if schema != SCHEMA:
        shown = schema if isinstance(schema, str | None) else type(schema).__name__
        return f"record schema {str(shown)[:80]!r} is not {SCHEMA!r}"
    if _ESCAPED_SURROGATE.search(text):
        data = _without_surrogates(data)
    try:
        records.append(validate_record(data))
    except ValidationError as exc:
        return f"invalid record: {describe_validation(exc)}"
    except (RecursionError, ValueError, TypeError) as exc:
        return f"invalid record: {type(exc).__name__}: {str(exc)[:200]}"
    return None


def _without_surrogates(value: Any) -> Any:
    """Lone surrogates (JSON allows "\\udcff", UTF-8 cannot hold it) written as their escape text,
    so that every later writer (history, HTML, terminal) can encode what was read."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8") if _has_surrogate(value) else value
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _parse(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _text_depth(text: str) -> int:
    """How deep a JSON text nests, from its brackets outside strings (no parsing, no recursion).
    On text that is not JSON the count is only an estimate; the parser judges that text."""
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
# A lone surrogate can only come from an escape: the text itself was decoded as strict UTF-8.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def describe_validation(exc: ValidationError) -> str:
    """The first error as 'dotted.path: what is wrong', union members' tags left out."""
    errors = exc.errors(include_url=False)
    error = errors[0]
    loc = _plain_loc(error["loc"])
    alternatives = [e for e in errors if _plain_loc(e["loc"]) == loc]
    if len(alternatives) > 1:
        message = f"wrong type ({_kind(error.get('input'))})"
    elif error["type"] in ("model_type", "dict_type", "model_attributes_type"):
        message = f"should be a mapping, not {_kind(error.get('input'))}"
    else:
        message = error["msg"].removeprefix("Value error, ")
    where = ".".join(str(part) for part in loc) or "record"
    more = len({_plain_loc(e["loc"]) for e in errors}) - 1
    if message.startswith(_NESTED):  # a part's own check: its path continues this one
        where, message = where + "." + message[len(_NESTED) :].split(": ", 1)[0], message.split(": ", 1)[1]
    return f"{where}: {message}" + (f" (and {more} more)" if more else "")


_NESTED = "@"
_UNION_TAGS = {"str", "int", "float", "bool", "none", "list", "dict"}


def _plain_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(p for p in loc if not (isinstance(p, str) and (p in _UNION_TAGS or "[" in p)))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    name = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer"}.get(
        type(value), type(value).__name__
    )
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def validate_record(data: Any) -> Record:
    """``data`` as a record, every part the readers use checked for its type; raises
    ValidationError. The history validates what it loads with this too."""
    return ReadRecord.model_validate(data)


def run_id_of(path: Path) -> str | None:
    """The run id of the records already in ``path`` (the first readable one's)."""
    records = read_results([path]).records if path.exists() else []
    return records[0].run_id if records else None


def completed_ids(path: Path) -> set[str]:
    """Ids with a record in ``path``, for --resume. A torn last line is removed first and every
    unreadable line is reported: their variants run again."""
    if not path.exists():
        return set()
    repair_torn_tail(path)
    loaded = read_results([path])
    for problem in loaded.problems:
        _warn(f"{problem} (its variant runs again)")
    return {record.id for record in loaded.records}


# -- the shapes of the record's free-form parts -------------------------------------------------
#
# ``Record`` keeps the resolved scenario, the environment and a few other parts as plain mappings
# (fields are only ever added within a schema version). Readers index into them, so a reader
# checks their shape first: the scenario against an open copy of the scenario schema (every
# field typed as the DSL types it, choices relaxed to their base type, unknown fields allowed).
# The checks return the value unchanged, so a record reads back exactly as it was written.

Json = Any
JsonScalar = str | int | float | bool | None


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


def _shape_check(shape: type[BaseModel]) -> AfterValidator:
    def check(value: dict[str, Any]) -> dict[str, Any]:
        try:
            shape.model_validate(value)
        except ValidationError as exc:
            raise ValueError(_NESTED + describe_validation(exc)) from None
        return value

    return AfterValidator(check)


@cache
def _open_model(model: type[BaseModel]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (_relaxed(info.annotation), Field(default=None)) for name, info in model.model_fields.items()
    }
    return create_model(f"Read{model.__name__}", __base__=_Shape, **fields)


def _relaxed(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        kinds = tuple(dict.fromkeys(type(arg) for arg in args))
        return Union[kinds] if len(kinds) > 1 else kinds[0]  # noqa: UP007
    if origin is Annotated:
        return _relaxed(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _open_model(annotation)
    if origin in (Union, types.UnionType):
        return Union[tuple(_relaxed(arg) for arg in args)]  # noqa: UP007
    if origin is list:
        return list[_relaxed(args[0])] if args else list
    if origin is dict:
        return dict[args[0], _relaxed(args[1])] if args else dict
    return annotation


class EnvShape(_Shape):
    """The environment: versions and machine facts are scalars, the lock maps names to versions."""

    __pydantic_extra__: dict[str, Json]
    lock: dict[str, str] = {}
    python: str | None = None
    device: str | None = None
    torch: str | None = None
    transformers: str | None = None
    peft: str | None = None
    bitsandbytes: str | None = None
    accelerate: str | None = None
    trl: str | None = None
    safetensors: str | None = None
    numpy: str | None = None
    torch_cuda: str | None = None
    platform: str | None = None
    implementation: str | None = None
    machine: str | None = None
    executable: str | None = None
    installer: str | None = None
    isolation: str | None = None
    cpu: str | None = None
    device_name: str | None = None
    cuda_available: bool | None = None
    cpu_count: int | None = None


class EffectiveShape(_Shape):
    """What took effect: the names the readers (repro) act on are strings."""

    checkpoint_api: str | None = None
    attach: str | None = None
    model_class: str | None = None
    model_type: str | None = None


def _scenario_shape() -> AfterValidator:
    return _shape_check(_open_model(Scenario))


class ReadRecord(Record):
    """A record read back: the free-form parts checked for the types their readers expect."""

    scenario: Annotated[dict[str, Any], _scenario_shape()]
    env: Annotated[dict[str, Any], _shape_check(EnvShape)] = Field(default_factory=dict)
    effective: Annotated[dict[str, Any], _shape_check(EffectiveShape)] = Field(default_factory=dict)
    axes: dict[str, JsonScalar | list[JsonScalar]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _judgements(self) -> ReadRecord:
        """The expectation that applied and the claims' statements have the DSL's shapes too."""
        try:
            _open_model(Expectation).model_validate(self.expectation.expected)
            for claim in self.claims:
                _open_model(Claim).model_validate(claim.claimed)
        except ValidationError as exc:
            raise ValueError(f"expectation or claim: {describe_validation(exc)}") from None
        return self
