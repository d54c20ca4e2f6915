"""The predicate language of `expect`/`claim` entries (``effective:``, ``checks:``) and `bisect --on`.

A predicate is a YAML value judged against a value of a result record:

=================================  ===========================================================
``true``, ``3``, ``bfloat16``      equality (a bool only equals a bool; ``8`` equals ``8.0``)
``null``                           the value is null or absent
``">0"``, ``"<=0.01"``             a comparison: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``
``"!=bfloat16"``, ``"==0"``        followed by a number, ``true``/``false``/``null`` or a word;
                                   ``<``/``>``/``<=``/``>=`` need a number and hold only for a
                                   number (quote them: YAML reads a leading ``>`` or ``!``)
``{in: [a, b]}``                   one of the listed values (``null`` in the list: or absent)
``{contains: P}``                  a list with an element matching predicate P, a string with
                                   P as a substring, or a mapping with the key P
``{not: P}``                       P does not hold
``{all: [P, Q]}``                  every one holds (``{all: [">0", "<1"]}``)
``{equals: X}``                    exactly X, nothing more (a mapping with no extra keys)
``[a, b]``                         exactly this list
``{key: P, other.key: Q}``         a partial mapping: each listed key matches, other keys are
                                   free; a dotted key walks down (``results.adapter-dtype.passed``)
=================================  ===========================================================

A mapping with one key among ``in``, ``contains``, ``not``, ``all`` and ``equals`` is that
operator; any other mapping is a partial mapping. A key is looked up literally first, then
split at its dots; in a list, a key is an index or the ``name`` of an element.

:func:`problems` checks a predicate's syntax (scenario loading calls it, so a bad predicate is
an input error at its line); :func:`judge` evaluates one against a value and returns a
:class:`Result` per leaf, each with a message such as
``effective.use_reentrant: expected false, got true``.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

OPERATORS = ("in", "contains", "not", "all", "equals")
# Longest first, so "<=0" is read as "<=" and "0", not "<" and "=0".
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
ORDERING = ("<", "<=", ">", ">=")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class _Missing:
    """A path the record does not have (told apart from an explicit null only in messages)."""

    def __repr__(self) -> str:
        return "absent"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Result:
    """One leaf of a predicate, judged: where, whether it held, what was wanted and what was found."""

    path: str
    held: bool
    wanted: str
    got: Any

    def describe(self) -> str:
        if self.held:
            return f"{self.path} {self.wanted}"
        return f"{self.path}: expected {self.wanted}, got {render(self.got)}"


# --- syntax ---------------------------------------------------------------------------------


def problems(predicate: Any, path: str = "") -> list[str]:
    """What is wrong with ``predicate`` (empty when it is well formed), each message naming its path."""
    found: list[str] = []
    where = f"{path}: " if path else ""
    if isinstance(predicate, str):
        symbol, operand = _comparison(predicate) or ("", "?")
        if not operand:
            found.append(f"{where}{predicate!r}: nothing to compare with")
        elif symbol in ORDERING and not _NUMBER.match(operand):
            found.append(f"{where}{predicate!r}: {symbol} needs a number, e.g. '{symbol}0.01'")
    elif isinstance(predicate, list):
        pass  # an exact list: any values
    elif isinstance(predicate, dict):
        operator_name = _operator(predicate)
        if operator_name is None:
            for key, sub in predicate.items():
                if not isinstance(key, str) or not key or key.startswith(".") or key.endswith(".") or ".." in key:
                    found.append(f"{where}{key!r} is not a key or dotted path")
                    continue
                found += problems(sub, f"{path}.{key}" if path else key)
        else:
            found += _operator_problems(operator_name, predicate[operator_name], path)
    elif not isinstance(predicate, bool | int | float) and predicate is not None:
        found.append(f"{where}{predicate!r} is not a predicate (see harness/predicates.py)")
    if isinstance(predicate, float) and not math.isfinite(predicate):
        found.append(f"{where}{predicate!r} is not a finite number")
    return found


def _operator_problems(name: str, argument: Any, path: str) -> list[str]:
    where = f"{path}: " if path else ""
    inner = f"{path}.{name}" if path else name
    if name in ("in", "all") and not isinstance(argument, list):
        return [f"{where}'{name}' takes a list, e.g. {{{name}: [a, b]}}"]
    if name == "in" and not argument:
        return [f"{where}'in' takes a non-empty list"]
    if name == "all":
        return [found for position, sub in enumerate(argument) for found in problems(sub, f"{inner}[{position}]")]
    if name in ("contains", "not"):
        return problems(argument, inner)
    return []


def check(predicate: Any, path: str = "") -> Any:
    """``predicate`` unchanged, or ValueError listing what is wrong with it (for validators)."""
    found = problems(predicate, path)
    if found:
        raise ValueError("; ".join(found) + " (predicates: " + _SYNTAX + ")")
    return predicate


_SYNTAX = "value, null, '>0', '!=x', {in: [a, b]}, {contains: x}, {not: p}, {all: [p, q]}, {equals: x}, {key: p}"


# --- evaluation -----------------------------------------------------------------------------


def judge(predicate: Any, value: Any, path: str) -> list[Result]:
    """Each leaf of ``predicate`` judged against ``value`` (found at ``path`` of the record)."""
    return list(_judge(predicate, value, path))


def holds(predicate: Any, value: Any) -> bool:
    return all(result.held for result in _judge(predicate, value, ""))


def _judge(predicate: Any, value: Any, path: str) -> Iterator[Result]:
    if isinstance(predicate, dict):
        name = _operator(predicate)
        if name is None:
            for key, sub in predicate.items():
                yield from _judge(sub, lookup(value, key), f"{path}.{key}" if path else key)
            return
        yield Result(path, _operator_holds(name, predicate[name], value), describe(predicate), value)
        return
    yield Result(path, _leaf_holds(predicate, value), describe(predicate), value)


def _operator_holds(name: str, argument: Any, value: Any) -> bool:
    if name == "in":
        return any(_equal(choice, value) for choice in argument)
    if name == "not":
        return not holds(argument, value)
    if name == "all":
        return all(holds(sub, value) for sub in argument)
    if name == "equals":
        return _equal(argument, value)
    # contains
    if isinstance(value, list):
        return any(holds(argument, element) for element in value)
    if isinstance(value, str):
        return isinstance(argument, str) and argument in value
    if isinstance(value, dict):
        return isinstance(argument, str) and argument in value
    return False


def _leaf_holds(predicate: Any, value: Any) -> bool:
    if predicate is None:
        return _is_null(value)
    if isinstance(predicate, str):
        comparison = _comparison(predicate)
        if comparison:
            symbol, operand_text = comparison
            operand = _scalar(operand_text)
            if symbol in ("==", "!="):
                same = _is_null(value) if operand is None else _equal(operand, value)
                return same if symbol == "==" else not same
            return _is_number(value) and COMPARISONS[symbol](value, operand)  # problems() made operand a number
    return _equal(predicate, value)


def describe(predicate: Any) -> str:
    """The predicate as a reader would write it: ``false``, ``>0``, ``one of ["a", "b"]``."""
    if isinstance(predicate, str) and _comparison(predicate):
        symbol, operand = _comparison(predicate)  # type: ignore[misc]
        return f"{symbol}{operand}"
    if isinstance(predicate, dict):
        name = _operator(predicate)
        if name is None:
            return "{" + ", ".join(f"{key}: {describe(sub)}" for key, sub in predicate.items()) + "}"
        argument = predicate[name]
        return {
            "in": lambda: f"one of {render(argument)}",
            "contains": lambda: f"containing {describe(argument)}",
            "not": lambda: f"not {describe(argument)}",
            "all": lambda: " and ".join(describe(sub) for sub in argument),
            "equals": lambda: f"exactly {render(argument)}",
        }[name]()
    return render(predicate)


def render(value: Any) -> str:
    """JSON spelling (``true``, ``null``, ``"bf16"``); ``absent`` for a path the record lacks."""
    if value is MISSING:
        return "absent"
    try:
        return json.dumps(value, default=str)
    except ValueError:  # a circular structure cannot come from JSON; be safe anyway
        return repr(value)


# --- paths ----------------------------------------------------------------------------------


def lookup(data: Any, dotted: str) -> Any:
    """The value at ``dotted`` inside ``data``, or MISSING: a literal key first, then split at dots."""
    if data is MISSING:
        return MISSING
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        child = _child(data, ".".join(parts[:cut]))
        if child is not MISSING:
            rest = ".".join(parts[cut:])
            found = lookup(child, rest) if rest else child
            if found is not MISSING:
                return found
    return MISSING


def _child(data: Any, key: str) -> Any:
    if isinstance(data, dict):
        return data.get(key, MISSING)
    if isinstance(data, list):
        if key.lstrip("-").isdigit():
            index = int(key)
            return data[index] if -len(data) <= index < len(data) else MISSING
        named = [e for e in data if isinstance(e, dict) and e.get("name") == key]
        return named[0] if named else MISSING
    return MISSING


# --- `bisect --on FIELD` ----------------------------------------------------------------------

_FIELD = re.compile(r"^\s*(?P<path>[A-Za-z0-9_][\w.\-]*?)\s*(?P<op>==|!=|<=|>=|=|<|>)(?P<rest>.*)$", re.DOTALL)
NO_PREDICATE: Any = object()


def parse_field(spec: str) -> tuple[str, Any]:
    """``'effective.trainable_dtypes'`` -> (path, NO_PREDICATE); ``'checks.nonfinite_grads<1'`` ->
    (path, '<0.01'); ``'path=YAML'`` -> (path, the YAML value as a predicate: ``null``,
    ``{in: [a, b]}``, ...). Raises ValueError for a malformed spec or predicate."""
    import yaml

    match = _FIELD.match(spec)
    if match is None:
        path = spec.strip()
        if not re.fullmatch(r"[A-Za-z0-9_][\w.\-]*", path) or ".." in path or path.endswith("."):
            raise ValueError(f"{spec!r}: expected a dotted record path such as effective.trainable_dtypes")
        return path, NO_PREDICATE
    path, symbol, rest = match["path"], match["op"], match["rest"].strip()
    if ".." in path or path.endswith("."):
        raise ValueError(f"{spec!r}: {path!r} is not a dotted record path")
    if symbol == "=":
        try:
            predicate = yaml.safe_load(rest) if rest else None
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ValueError(f"{spec!r}: the value after '=' is not YAML ({problem})") from None
    else:
        predicate = f"{symbol}{rest}"
    check(predicate, path)
    return path, predicate


# --- helpers --------------------------------------------------------------------------------


def _operator(predicate: dict[Any, Any]) -> str | None:
    if len(predicate) == 1:
        (key,) = predicate
        if key in OPERATORS:
            return key
    return None


def _comparison(text: str) -> tuple[str, str] | None:
    stripped = text.strip()
    for symbol in COMPARISONS:
        if stripped.startswith(symbol):
            return symbol, stripped[len(symbol) :].strip()
    return None


def _scalar(text: str) -> Any:
    """A comparison's operand: a number, true/false/null, or the text itself."""
    lowered = text.lower()
    if lowered in ("null", "~", "none"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and not any(c in text for c in ".eE") else number
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_null(value: Any) -> bool:
    return value is None or value is MISSING


def _equal(wanted: Any, value: Any) -> bool:
    """Equality as YAML means it: a bool only equals a bool, null equals absent, lists and
    mappings element by element."""
    if wanted is None:
        return _is_null(value)
    if isinstance(wanted, bool) or isinstance(value, bool):
        return isinstance(wanted, bool) and isinstance(value, bool) and wanted is value
    if isinstance(wanted, dict):
        same_keys = isinstance(value, dict) and wanted.keys() == value.keys()
        return same_keys and all(_equal(wanted[key], value[key]) for key in wanted)
    if isinstance(wanted, list):
        return isinstance(value, list) and len(wanted) == len(value) and all(map(_equal, wanted, value))
    return value is not MISSING and wanted == value
