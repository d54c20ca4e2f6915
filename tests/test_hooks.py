"""A scenario's own code (model.hook / steps.hook): checked at load, imported as a real module."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import harness

SCENARIO = """\
id: hooked
description: a model built by the scenario's own code
model: {{family: llama, hook: "{hook}"}}
"""

# transformers (5.0) looks a model class's module up in sys.modules; so does this hook, the same way
HOOK = """\
import sys

import transformers


class TinyLlama(transformers.LlamaForCausalLM):
    pass


def build(scenario, device):
    assert sys.modules[TinyLlama.__module__].TinyLlama is TinyLlama
    config = transformers.LlamaConfig(
        vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2,
    )
    return TinyLlama(config).to(device)
"""


def test_a_hook_module_beside_the_scenario_is_a_registered_module(tmp_path: Path) -> None:
    (tmp_path / "hooks.py").write_text(HOOK)
    (tmp_path / "hooked.yaml").write_text(SCENARIO.format(hook="hooks:build"))
    done = harness("run", tmp_path, out=tmp_path / "r.jsonl")
    assert done.code == 0, done.stdout + done.stderr
    (record,) = done.records
    assert record["outcome"] == "passed", record.get("error")
    assert record["effective"]["model_class"] == "TinyLlama"


@pytest.mark.parametrize(
    ("hook", "module_source", "message"),
    [
        ("missing:build", None, "hook module 'missing' not found"),
        ("hooks:build", "def build(:\n", "cannot be read as Python"),
        ("hooks:biuld", HOOK, "defines no 'biuld' (did you mean 'build'?)"),
    ],
)
def test_a_broken_hook_reference_is_bad_input_never_a_record(
    tmp_path: Path, hook: str, module_source: str | None, message: str
) -> None:
    if module_source is not None:
        (tmp_path / "hooks.py").write_text(module_source)
    (tmp_path / "hooked.yaml").write_text(SCENARIO.format(hook=hook))
    done = harness("run", tmp_path, out=tmp_path / "r.jsonl")
    assert done.code == 2, done.stdout + done.stderr
    assert "hooked.yaml:3: model.hook: " in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr
    assert not done.records
