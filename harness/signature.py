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
    text = first_statement(message)
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


def signature_text(phase: str | None, kind: str, message: str = "") -> str:
    detail = normalize(message)
    return f"{phase or '-'} | {kind}" + (f": {detail}" if detail else "")


def signature_id(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]
