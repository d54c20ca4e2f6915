"""Error signatures: the same failure reads the same across shapes, paths and versions."""

from __future__ import annotations

import hashlib
import re

# Order matters: addresses and paths before versions, versions and shapes before bare numbers.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"0x[0-9a-fA-F]+", "<addr>"),
        (r"(?<![\w>])/(?:[\w.+-]+/)*[\w.+-]+", "<path>"),
        (r"\b(?:[\w.-]+/)+[\w.-]+\.(?:py|so|json|safetensors|bin|txt|yaml|cu|cpp|h)\b", "<path>"),
        (r"torch\.Size\(\[[^\]]*\]\)", "<shape>"),
        (r"\[\s*-?\d+(?:\s*,\s*-?\d+)*\s*,?\s*\]", "<shape>"),
        (r"\(\s*-?\d+(?:\s*,\s*-?\d+)+\s*,?\s*\)", "<shape>"),
        (r"\b\d+(?:x\d+)+\b", "<shape>"),
        (r"\bv?\d+\.\d+(?:\.\d+)*(?:(?:a|b|rc|\.post|\.dev)\d+)*(?:\+[\w.]+)?\b", "<version>"),
        (r"(?<![\w<])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?\b", "<n>"),
        (r"\s+", " "),
    )
)
MAX_SIGNATURE = 240


def normalize(message: str) -> str:
    """The message with everything that varies between runs or machines replaced by a token."""
    text = sorted_collections(first_statement(message))
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.strip()[:MAX_SIGNATURE]


def first_statement(message: str) -> str:
    """The first line, or, when it opens a multi-line module repr, its head and the closing line.

    ``WhisperDecoder(\n  (embed_tokens): ...\n) got multiple values for ...`` becomes
    ``WhisperDecoder(...) got multiple values for ...``.
    """
    lines = message.strip().splitlines()
    if not lines:
        return ""
    if len(lines) > 1 and lines[0].rstrip().endswith("("):
        closing = next((line.strip() for line in reversed(lines) if line.strip().startswith(")")), "")
        return f"{lines[0].rstrip()}...{closing}"
    return lines[0]


def sorted_collections(text: str) -> str:
    """Every ``{...}`` in ``text`` (a set's or dict's repr) with its items in sorted order.

    A set of strings prints in hash order, and the hash seed differs in every process, so
    ``{'q_proj', 'v_proj'}`` and ``{'v_proj', 'q_proj'}`` are the same failure. Dicts print in
    insertion order, which code paths may vary; sorted, both read the same. Nested braces are
    sorted inside out; text with unbalanced braces or quotes is left as it is.
    """
    if "{" not in text:
        return text
    try:
        normalized, end = _scan(text, 0, closing=None)
    except _Unbalanced:
        return text
    return normalized if end == len(text) else text


class _Unbalanced(Exception):
    pass


_PAIRS = {"(": ")", "[": "]", "{": "}"}


def _scan(text: str, start: int, closing: str | None) -> tuple[str, int]:
    """Copy ``text`` from ``start`` up to ``closing`` (excluded), sorting every brace group met."""
    out: list[str] = []
    index = start
    while index < len(text):
        char = text[index]
        if char == closing:
            return "".join(out), index
        if char in "'\"" and _opens_literal(text, index):
            end = _quote_end(text, index)
            out.append(text[index:end])
            index = end
        elif char == "{":
            inner, end = _scan(text, index + 1, "}")
            out.append("{" + _sorted_items(inner) + "}")
            index = end + 1
        elif char in _PAIRS:
            inner, end = _scan(text, index + 1, _PAIRS[char])
            out.append(char + inner + _PAIRS[char])
            index = end + 1
        elif char in ")]}":
            raise _Unbalanced
        else:
            out.append(char)
            index += 1
    if closing is not None:
        raise _Unbalanced
    return "".join(out), index


def _opens_literal(text: str, index: int) -> bool:
    """A quote after a letter is an apostrophe ("can't"), not the start of a string literal."""
    return index == 0 or not text[index - 1].isalnum()


def _quote_end(text: str, start: int) -> int:
    """Index just past the string literal opening at ``start``."""
    quote, index = text[start], start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == quote:
            return index + 1
        else:
            index += 1
    raise _Unbalanced  # a stray quote: not a literal after all, leave the text alone


def _sorted_items(inner: str) -> str:
    """``'b', 'a'`` -> ``'a', 'b'``: split at top-level commas (inner groups are already sorted)."""
    items, depth, quote, current = [], 0, "", []
    index = 0
    while index < len(inner):
        char = inner[index]
        if quote:
            current.append(char)
            if char == "\\" and index + 1 < len(inner):
                current.append(inner[index + 1])
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"" and _opens_literal(inner, index):
            quote = char
            current.append(char)
        elif char in "([{":
            depth += 1
            current.append(char)
        elif char in ")]}":
            depth -= 1
            current.append(char)
        elif char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    items.append("".join(current).strip())
    if len(items) < 2:
        return inner
    return ", ".join(sorted(item for item in items if item))


def signature_text(phase: str | None, kind: str, message: str = "") -> str:
    detail = normalize(message)
    return f"{phase or '-'} | {kind}" + (f": {detail}" if detail else "")


def signature_id(text: str) -> str:
    # backslashreplace: a message may hold a lone surrogate (an undecodable byte smuggled
    # through surrogateescape); it still gets a stable id instead of a UnicodeEncodeError
    return hashlib.sha1(text.encode("utf-8", "backslashreplace")).hexdigest()[:10]
