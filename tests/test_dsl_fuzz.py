"""Hypothesis generates malformed scenario documents: each loads, or gives one clean error."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.dsl.catalog import load_catalog, load_file
from harness.errors import InputError

VALID: dict[str, Any] = {
    "id": "fuzz",
    "description": "a scenario touching every section",
    "tags": ["fuzz"],
    "model": {"family": "llama", "task": "causal-lm", "config": {"num_hidden_layers": 2}},
    "peft": {"method": "lora", "target_modules": ["q_proj"], "config": {"r": 4}},
    "quantization": {"backend": "bnb-4bit", "quant_type": "nf4", "prepare": "prepare_model_for_kbit_training"},
    "checkpointing": {"enabled": True, "via": "kbit-prepare", "use_reentrant": False},
    "precision": {"dtype": "bf16", "mode": "autocast"},
    "inputs": {"batch_size": 2, "seq_len": 8},
    "steps": {"train_steps": 2, "optimizer": "sgd"},
    "checks": {"gradients": "all"},
    "vary": {"peft.method": ["lora", "dora"]},
    "cases": {"a": {"steps.train_steps": 1}},
    "expect": [{"when": {"transformers": ">=4", "case": "a"}, "outcome": "passed"}, {"outcome": "passed"}],
    "claim": [{"source": "x", "says": "y", "outcome": "failed"}],
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["llama", "lora", "<5", "==x", "passed", "a.b.c"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, (*prefix, index))
    return found


ALL_PATHS = paths(VALID)


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = document
        try:
            for part in path[:-1]:
                parent = parent[part]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                parent[path[-1]] = draw(values)
            elif action == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return document


def assert_clean(path: Path) -> None:
    try:
        load_file(path)
    except InputError as error:
        text = error.format()
        assert text.startswith(f"{path}:"), text
        assert error.line is not None and error.line >= 1, text
        assert "Traceback" not in text


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "600")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(mutated_documents())
def test_mutated_scenarios_load_or_fail_cleanly(document: Any) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True))
        assert_clean(path)
        catalog = load_catalog([directory])  # the catalog level never raises
        assert len(catalog.errors) + len({v.source for v in catalog.variants}) == 1


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_loads_or_fails_cleanly(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.yaml"
        path.write_text(text)
        assert_clean(path)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                "id: x",
                "description: d",
                "model:",
                "  family: llama",
                "vary:",
                "  peft.method: [lora, ia3]",
                "expect:",
                "  - outcome: passed",
                "    when: {transformers: '<5'}",
                "  {",
                "- ",
                ": :",
                "\t",
                "&a",
                "*a",
                "<<: *a",
                "!!binary x",
                "!!set {a}",
                "? complex",
            ]
        ),
        max_size=12,
    )
)
def test_yaml_shaped_noise_loads_or_fails_cleanly(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.yaml"
        path.write_text("\n".join(lines))
        assert_clean(path)
