"""Scenario files: expansion into variants, and one clear error (file:line) for each mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.dsl.catalog import load_catalog, load_file
from harness.errors import InputError
from harness.families import FAMILIES
from harness.quantization import BACKENDS


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load_file(path)
    return caught.value


def test_vary_and_cases_expand_into_readable_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        id: lora-gc
        description: checkpointing modes
        model: {family: llama}
        checkpointing: {enabled: true}
        cases:
          after-wrap: {checkpointing.via: after-wrap}
          before-wrap: {}
        vary:
          checkpointing.use_reentrant: [true, false, null]
        """,
    )
    variants = load_file(path)
    assert [v.id for v in variants] == [
        "lora-gc[after-wrap,use_reentrant=true]",
        "lora-gc[after-wrap,use_reentrant=false]",
        "lora-gc[after-wrap,use_reentrant=none]",
        "lora-gc[before-wrap,use_reentrant=true]",
        "lora-gc[before-wrap,use_reentrant=false]",
        "lora-gc[before-wrap,use_reentrant=none]",
    ]
    first = variants[0]
    assert first.scenario.checkpointing.via == "after-wrap" and first.scenario.checkpointing.use_reentrant is True
    assert first.axes == {"case": "after-wrap", "checkpointing.use_reentrant": True, "use_reentrant": True}


def test_id_defaults_to_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "description: d\nmodel: {family: gpt2}\n", name="my_scenario.yaml")
    assert [v.id for v in load_file(path)] == ["my-scenario"]


def test_axes_sharing_a_leaf_name_use_their_full_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        id: s
        description: d
        model: {family: llama}
        vary:
          peft.config.r: [4]
          model.config.r: [2]
        """,
    )
    assert [v.id for v in load_file(path)] == ["s[peft.config.r=4,model.config.r=2]"]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("id: s\ndescription: d\nmodel: {family: llama\n", 4, "YAML syntax error"),
        (
            "id: s\ndescription: d\nmodle: {family: llama}\n",
            3,
            "unknown field 'modle' in scenario (valid: checkpointing, checks,",
        ),
        (
            "id: s\ndescription: d\nmodel:\n  family: lama\n",
            4,
            "unknown model family 'lama' (valid: " + ", ".join(FAMILIES.names()[:3]),
        ),
        ("id: s\ndescription: d\nmodel: {family: llama}\npeft:\n  method: lorra\n", 5, "did you mean 'lora'?"),
        (
            "id: s\ndescription: d\nmodel: {family: llama}\ninputs:\n  batch_size: two\n",
            5,
            "inputs.batch_size: Input should be a valid integer",
        ),
        (
            "id: s\ndescription: d\nmodel: {family: llama, task: vision}\n",
            3,
            "unknown task 'vision' for family 'llama' (valid: causal-lm, seq-cls)",
        ),
        (
            "id: s\ndescription: d\nmodel: {family: llama}\nexpect:\n  when: {transformers: '<<5'}\n  outcome: passed\n",
            5,
            "invalid version specifier '<<5' for 'transformers'",
        ),
        (
            "id: s\ndescription: d\nmodel: {family: llama}\nexpect: {outcome: exploded}\n",
            4,
            "Input should be 'passed', 'failed', 'crashed', 'timed_out', 'skipped' or 'silent'",
        ),
        ("id: s\ndescription: d\nmodel: {family: llama}\nmodel: {family: gpt2}\n", 4, "duplicate key 'model'"),
        (
            "id: s\ndescription: d\nmodel: {family: llama}\nvary:\n  peft.nope: [1, 2]\n",
            5,
            "unknown field 'nope' in peft",
        ),
        (
            "id: s\ndescription: d\nmodel: {family: llama}\nvary:\n  peft.method: [lora, lorra]\n",
            5,
            "unknown PEFT method 'lorra'",
        ),
        (
            "id: s\ndescription: d\nmodel: {family: llama}\nexpect:\n  - when: {use_reentrant: true}\n    outcome: passed\n",
            5,
            "'use_reentrant' is not a vary axis",
        ),
        ("- just\n- a list\n", 1, "a scenario file holds one mapping, this one is list"),
        ("", 1, "a scenario file holds one mapping, this one is empty"),
        (
            "id: s\ndescription: d\nmodel: {family: llama}\ncheckpointing: {enabled: true, via: kbit-prepare}\n",
            1,
            "needs quantization.prepare",
        ),
        (
            "id: s\ndescription: d\nmodel: {family: llama}\nquantization: {backend: bnb-3bit}\n",
            4,
            "unknown quantization backend 'bnb-3bit' (valid: " + ", ".join(BACKENDS.names()),
        ),
    ],
)
def test_each_mistake_is_one_clear_error_at_its_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    error = error_of(write(tmp_path, text))
    assert error.line == line, error.format()
    assert needle in error.format()
    assert error.format().startswith(f"{tmp_path / 'scenario.yaml'}:{line}: ")


def test_duplicate_ids_across_files_are_reported_with_both_places(tmp_path: Path) -> None:
    write(tmp_path, "id: same\ndescription: d\nmodel: {family: llama}\n", name="a.yaml")
    write(tmp_path, "id: same\ndescription: d\nmodel: {family: gpt2}\n", name="b.yaml")
    catalog = load_catalog([tmp_path])
    assert [v.source for v in catalog.variants] == [str(tmp_path / "a.yaml")]
    assert len(catalog.errors) == 1
    assert "duplicate scenario id 'same' (first defined at" in catalog.errors[0].format()


def test_a_broken_file_does_not_hide_the_others(tmp_path: Path) -> None:
    write(tmp_path, "id: ok\ndescription: d\nmodel: {family: llama}\n", name="a.yaml")
    write(tmp_path, "id: broken\ndescription: d\nmodel: {family: nope}\n", name="b.yaml")
    catalog = load_catalog([tmp_path, tmp_path / "missing.yaml"])
    assert [v.id for v in catalog.variants] == ["ok"]
    assert [e.format().split(": ", 1)[0] for e in catalog.errors] == [
        f"{tmp_path / 'missing.yaml'}",
        f"{tmp_path / 'b.yaml'}:3",
    ]


def test_single_expectation_and_claim_mappings_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        id: s
        description: d
        model: {family: llama}
        expect: {outcome: failed, error: TypeError}
        claim: {source: https://example.org, says: it breaks, outcome: failed}
        """,
    )
    scenario = load_file(path)[0].scenario
    assert scenario.expect[0].error == "TypeError" and scenario.claim[0].says == "it breaks"


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = write(
        tmp_path, "id: s\ndescription: !!python/object/apply:os.system ['echo pwned']\nmodel: {family: llama}\n"
    )
    assert "unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'" in error_of(path).format()
    scalar = write(tmp_path, "id: s\ndescription: !!python/name:os.system ''\nmodel: {family: llama}\n")
    assert "could not determine a constructor for the tag" in error_of(scalar).format()


def test_limits_decide_the_scenarios_in_their_scope_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        limits:
          - description: an old stack cannot quantize here
            when: {transformers: "<4.45"}
            scope: {quantization.backend: [bnb-4bit, bnb-8bit]}
            outcome: failed
            phase: quantize
        """,
        name="_limits.yaml",
    )
    nested = tmp_path / "quantization"
    nested.mkdir()
    write(nested, "id: q\ndescription: d\nmodel: {family: llama}\nquantization: {backend: bnb-4bit}\n", name="q.yaml")
    write(nested, "id: plain\ndescription: d\nmodel: {family: llama}\n", name="plain.yaml")
    catalog = load_catalog([nested])  # limits of parent folders apply too
    assert catalog.errors == []
    by_id = catalog.by_id()
    assert [e.outcome for e in by_id["q"].scenario.expect] == ["failed", "passed"]
    assert by_id["q"].scenario.expect[0].why == "an old stack cannot quantize here"
    assert [e.outcome for e in by_id["plain"].scenario.expect] == ["passed"]


@pytest.mark.parametrize(
    ("limit", "needle"),
    [
        ("scope: {quantization.flavour: x}", "limit scope: 'quantization.flavour' is not a scenario field path"),
        ("when: {transformers: '<<5'}", "limit when: invalid version specifier '<<5'"),
        ("phase: nowhere", "Input should be 'build', 'quantize'"),
    ],
)
def test_a_broken_limits_file_is_a_located_error(tmp_path: Path, limit: str, needle: str) -> None:
    write(tmp_path, f"limits:\n  - description: d\n    outcome: failed\n    {limit}\n", name="_limits.yaml")
    write(tmp_path, "id: s\ndescription: d\nmodel: {family: llama}\n", name="s.yaml")
    catalog = load_catalog([tmp_path])
    assert len(catalog.errors) == 1
    assert catalog.errors[0].format().startswith(f"{tmp_path / '_limits.yaml'}:")
    assert needle in catalog.errors[0].format()
