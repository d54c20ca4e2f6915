"""-k expressions and `when:` conditions."""

from __future__ import annotations

import pytest

from harness.dsl.conditions import Context, holds, problems
from harness.errors import InputError
from harness.selection import compile_expression


@pytest.mark.parametrize(
    ("expression", "text", "expected"),
    [
        ("lora", "lora-gc[use_reentrant=true] llama", True),
        ("lora and not dora", "lora-gc llama", True),
        ("lora and not dora", "lora-gc dora", False),
        ("(gpt2 or bert) and bnb-4bit", "x bert bnb-4bit", True),
        ("(gpt2 or bert) and bnb-4bit", "x llama bnb-4bit", False),
        ("use_reentrant=true", "lora-gc[use_reentrant=true]", True),
        ("", "anything", True),
    ],
)
def test_keyword_expressions(expression: str, text: str, expected: bool) -> None:
    assert compile_expression(expression)(text) is expected


@pytest.mark.parametrize("expression", ["lora and", "(lora", "and lora", "lora )"])
def test_malformed_keyword_expressions_are_input_errors(expression: str) -> None:
    with pytest.raises(InputError, match="-k"):
        compile_expression(expression)


def context(**axes) -> Context:
    return Context(
        versions={"transformers": "5.23.0", "peft": "0.21.2", "torch": "2.13.0+cpu", "bitsandbytes": None},
        device="cpu",
        axes=axes,
    )


def test_version_conditions() -> None:
    assert holds({"transformers": ">=5"}, context())
    assert not holds({"transformers": "<5"}, context())
    assert holds({"torch": "==2.13.0"}, context())  # the +cpu local version still matches
    assert holds({"transformers": ">=5", "peft": ">=0.17,<0.22"}, context())
    assert not holds({"bitsandbytes": ">=0"}, context())  # not installed satisfies nothing


def test_axis_and_device_conditions() -> None:
    assert holds({"use_reentrant": True, "device": "cpu"}, context(use_reentrant=True))
    assert not holds({"use_reentrant": [False, None]}, context(use_reentrant=True))
    assert holds({"case": ["broken", "fixed"]}, context(case="fixed"))
    assert not holds({"device": "cuda"}, context())


def test_cpu_capability_conditions_read_the_recorded_capability() -> None:
    avx512 = Context(versions={}, cpu_capability="AVX512")
    assert holds({"cpu_capability": "AVX512"}, avx512)
    assert holds({"cpu_capability": ["AVX2", "AVX512"]}, avx512)
    assert not holds({"cpu_capability": "AVX2"}, avx512)
    assert not holds({"cpu_capability": "AVX512"}, context())  # not known: no capability holds
    assert (
        "unknown CPU capability 'AVX-512' (valid: DEFAULT, AVX2, AVX512"
        in dict(problems({"cpu_capability": "AVX-512"}, {}))["cpu_capability"]
    )


def test_condition_problems_name_the_key_and_the_valid_forms() -> None:
    found = dict(problems({"transformers": "<<5", "use_reentrant": True, "device": "tpu"}, {}))
    assert "invalid version specifier '<<5'" in found["transformers"]
    assert "'use_reentrant' is not a vary axis" in found["use_reentrant"]
    assert "unknown device 'tpu' (valid: cpu, cuda)" in found["device"]
