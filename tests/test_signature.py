"""Signatures group the same failure across shapes, sizes, addresses, paths and versions."""

from __future__ import annotations

import pytest

from harness.signature import normalize, signature_id, signature_text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "LoraConfig.__init__() got an unexpected keyword argument 'gradient_checkpointing'",
            "LoraConfig.__init__() got an unexpected keyword argument 'gradient_checkpointing'",
        ),
        (
            "mat1 and mat2 shapes cannot be multiplied (16x64 and 1x2048)",
            "mat1 and mat2 shapes cannot be multiplied (<shape> and <shape>)",
        ),
        ("shape '[2048, 1]' is invalid for input of size 4096", "shape '<shape>' is invalid for input of size <n>"),
        (
            "Expected size torch.Size([2, 8, 64]) at 0x7f3a2b1c in /usr/lib/python3/dist-packages/x.py",
            "Expected size <shape> at <addr> in <path>",
        ),
        (
            "peft 0.17.1 needs transformers>=4.57.6 (torch 2.13.0+cpu)",
            "peft <version> needs transformers>=<version> (torch <version>)",
        ),
        ("element 0 of tensors does not require grad", "element <n> of tensors does not require grad"),
        ("first line\nsecond line with 123", "first line"),
        (
            "WhisperDecoder(\n  (embed_tokens): Embedding(128, 64)\n) got multiple values for keyword argument 'input_ids'",
            "WhisperDecoder(...) got multiple values for keyword argument 'input_ids'",
        ),
        ("   ", ""),
    ],
)
def test_normalize(message: str, expected: str) -> None:
    assert normalize(message) == expected


def test_same_failure_at_other_sizes_shares_a_signature() -> None:
    small = signature_text("forward", "RuntimeError", "mat1 and mat2 shapes cannot be multiplied (16x64 and 1x2048)")
    large = signature_text("forward", "RuntimeError", "mat1 and mat2 shapes cannot be multiplied (8x4096 and 1x8192)")
    assert small == large and signature_id(small) == signature_id(large)


def test_phase_is_part_of_the_signature() -> None:
    assert signature_id(signature_text("forward", "ValueError", "x")) != signature_id(
        signature_text("backward", "ValueError", "x")
    )
