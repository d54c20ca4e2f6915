"""`-k` expressions, as in pytest: substrings joined by and/or/not, with parentheses."""

from __future__ import annotations

import re
from collections.abc import Callable

from harness.dsl.catalog import Catalog, Variant, load_catalog
from harness.errors import InputError

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
Matcher = Callable[[str], bool]


def compile_expression(expression: str) -> Matcher:
    """A predicate over a searchable text (the variant id, tags, family, ...)."""
    tokens = _TOKEN.findall(expression)
    if not tokens:
        return lambda text: True
    parser = _Parser(tokens, expression)
    matcher = parser.expression()
    if parser.position != len(tokens):
        raise InputError(f"-k: unexpected '{tokens[parser.position]}' in {expression!r}")
    return matcher


class _Parser:
    def __init__(self, tokens: list[str], source: str):
        self.tokens = tokens
        self.source = source
        self.position = 0

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise InputError(f"-k: expression {self.source!r} ends too early")
        self.position += 1
        return token

    def expression(self) -> Matcher:
        left = self.conjunction()
        while self._peek() == "or":
            self._take()
            right = self.conjunction()
            left = _either(left, right)
        return left

    def conjunction(self) -> Matcher:
        left = self.negation()
        while self._peek() == "and":
            self._take()
            right = self.negation()
            left = _both(left, right)
        return left

    def negation(self) -> Matcher:
        if self._peek() == "not":
            self._take()
            inner = self.negation()
            return lambda text: not inner(text)
        return self.atom()

    def atom(self) -> Matcher:
        token = self._take()
        if token == "(":
            inner = self.expression()
            if self._take() != ")":
                raise InputError(f"-k: missing ')' in {self.source!r}")
            return inner
        if token in (")", "and", "or"):
            raise InputError(f"-k: unexpected '{token}' in {self.source!r}")
        needle = token.lower()
        return lambda text: needle in text


def _either(left: Matcher, right: Matcher) -> Matcher:
    return lambda text: left(text) or right(text)


def _both(left: Matcher, right: Matcher) -> Matcher:
    return lambda text: left(text) and right(text)


DEFAULT_SCENARIOS = "scenarios"


def searchable(variant: Variant) -> str:
    """What -k matches against: the id, the file, the dimensions' names and the tags."""
    scenario = variant.scenario
    words = [
        variant.id,
        variant.source,
        scenario.model.family,
        scenario.peft.method,
        scenario.quantization.backend,
        *scenario.tags,
    ]
    if scenario.checkpointing.enabled:
        words.append(scenario.checkpointing.via)
    if scenario.distributed.strategy != "none":  # -k ddp, -k "fsdp2 and torchrun", -k distributed
        words += ["distributed", scenario.distributed.strategy, scenario.distributed.launcher]
    return " ".join(words).lower()


def select(paths: tuple[str, ...], keyword: str | None, ids: tuple[str, ...] = ()) -> tuple[Catalog, list[Variant]]:
    """The catalog under ``paths`` (default ./scenarios), its variants matching ``keyword`` and,
    when ``ids`` are given, only those exact variant ids."""
    catalog = load_catalog(paths or (DEFAULT_SCENARIOS,))
    matcher = compile_expression(keyword or "")
    chosen = [v for v in catalog.variants if matcher(searchable(v)) and (not ids or v.id in ids)]
    missing = sorted(set(ids) - {v.id for v in catalog.variants})
    if missing:
        raise InputError(f"no variant '{missing[0]}' (see `harness list --ids`)")
    return catalog, chosen


def without_checks(variants: list[Variant]) -> list[Variant]:
    """The variants with every optional check and probe off: what the model goes through unobserved
    (for the observer-effect test and the checks' cost in the benchmark)."""
    import dataclasses

    from harness.dsl.schema import ChecksSpec

    off = ChecksSpec.all_off()
    return [dataclasses.replace(v, scenario=v.scenario.model_copy(update={"checks": off})) for v in variants]
