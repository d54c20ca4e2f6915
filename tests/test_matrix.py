"""matrix.yaml: resolution, include/exclude, pairwise coverage, errors, GitHub's job matrix."""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InputError
from harness.matrix.cells import _all_combinations, apply_include, load_plan, matches
from harness.matrix.cli import github_matrix
from harness.matrix.index import PackageIndex

RELEASES = {
    "torch": ["2.12.0", "2.13.0", "2.14.0"],
    "transformers": ["4.44.0", "4.44.2", "4.57.5", "4.57.6", "5.0.0", "5.1.0rc1"],
    "peft": ["0.13.2", "0.17.0", "0.17.1", "0.21.2"],
    "accelerate": ["0.33.0", "1.10.1"],
}


@pytest.fixture
def index(tmp_path: Path) -> PackageIndex:
    """A find-links folder of (empty) wheels: the resolver's real code path, no network."""
    links = tmp_path / "links"
    links.mkdir()
    for package, versions in RELEASES.items():
        for version in versions:
            (links / f"{package}-{version}-py3-none-any.whl").write_bytes(b"")
    return PackageIndex(indexes=[], find_links=[str(links)], cache_dir=None)


def plan(tmp_path: Path, index: PackageIndex, text: str):
    path = tmp_path / "matrix.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return load_plan(path, index)


def test_selectors_resolve_against_the_index(tmp_path: Path, index: PackageIndex) -> None:
    resolved = plan(
        tmp_path,
        index,
        """
        axes:
          torch: [latest]
          transformers: [{latest_minors: 2}, "==4.44.*"]
          peft: [{range: ">=0.17", pick: all}]
        """,
    ).axes
    assert resolved == {
        "torch": ["2.14.0"],
        "transformers": ["4.57.6", "5.0.0", "4.44.2"],
        "peft": ["0.17.0", "0.17.1", "0.21.2"],
    }


def test_a_prerelease_is_taken_when_named_or_asked_for(tmp_path: Path, index: PackageIndex) -> None:
    """As pip and uv: a value naming a pre-release (an exact version, or a specifier that names one)
    allows it; `latest` and ranges skip pre-releases unless the selector says `prereleases: true`."""
    resolved = plan(
        tmp_path,
        index,
        """
        axes:
          transformers: ["5.1.0rc1", latest, ">=5.1.0rc1"]
          peft: ["0.21.2"]
        include:
          - {transformers: "5.1.0rc1", accelerate: "1.10.1"}
        """,
    )
    assert resolved.axes["transformers"] == ["5.1.0rc1", "5.0.0"]
    assert [c.name for c in resolved.cells] == ["tf5.1.0rc1-peft0.21.2-acc1.10.1-cpu", "tf5.0.0-peft0.21.2-cpu"]
    ranges = plan(
        tmp_path,
        index,
        """
        axes:
          transformers: [{range: ">=5", pick: all}, {range: ">=5", pick: all, prereleases: true}]
        """,
    )
    assert ranges.axes["transformers"] == ["5.0.0", "5.1.0rc1"]
    with pytest.raises(InputError, match=r"transformers 5\.1\.0rc2 does not exist \(nearest releases: .*5\.1\.0rc1"):
        plan(tmp_path, index, 'axes:\n  transformers: ["5.1.0rc2"]\n')


def test_harness_matrix_reads_the_file_nox_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`harness matrix` without --file lists the cells of $HARNESS_MATRIX_FILE, as the noxfile does."""
    from click.testing import CliRunner

    from harness.cli import main
    from harness.matrix.sessions import matrix_file

    links = tmp_path / "links"
    links.mkdir()
    (links / "peft-0.18.0rc0-py3-none-any.whl").write_bytes(b"")
    monkeypatch.setenv("UV_DEFAULT_INDEX", f"file://{tmp_path / 'no-index'}")
    monkeypatch.setenv("UV_FIND_LINKS", str(links))
    for name in ("UV_INDEX", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no matrix.yaml here: only the variable can point at one
    other = tmp_path / "other.yaml"
    other.write_text('axes:\n  python: ["3.11"]\n  peft: ["0.18.0rc0"]\n')
    monkeypatch.setenv("HARNESS_MATRIX_FILE", str(other))
    assert matrix_file(Path("/project")) == other
    result = CliRunner().invoke(main, ["matrix", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [cell["name"] for cell in json.loads(result.output)] == ["py3.11-peft0.18.0rc0-cpu"]
    monkeypatch.setenv("HARNESS_MATRIX_FILE", str(tmp_path / "missing.yaml"))
    result = CliRunner().invoke(main, ["matrix"])
    assert result.exit_code == 2 and "missing.yaml" in result.output and "no such matrix file" in result.output
    monkeypatch.delenv("HARNESS_MATRIX_FILE")
    assert matrix_file(Path("/project")) == Path("/project/matrix.yaml")


def test_full_product_with_github_include_and_exclude(tmp_path: Path, index: PackageIndex) -> None:
    cells = plan(
        tmp_path,
        index,
        """
        axes:
          transformers: ["4.44.2", "5.0.0"]
          peft: ["0.13.2", "0.21.2"]
        exclude:
          - {transformers: "<5", peft: ">=0.21"}
        include:
          - {transformers: "4.44.2", accelerate: "0.33.0"}
          - {transformers: "5.0.0", peft: "0.17.1", accelerate: "1.10.1"}
          - {peft: "0.13.2", device: cuda}
        """,
    ).cells
    assert [c.pins for c in cells] == [
        {"transformers": "4.44.2", "peft": "0.13.2", "accelerate": "0.33.0"},
        {"transformers": "5.0.0", "peft": "0.13.2"},
        {"transformers": "5.0.0", "peft": "0.21.2"},
        {"transformers": "5.0.0", "peft": "0.17.1", "accelerate": "1.10.1"},  # matched nothing: added
    ]
    assert [c.device for c in cells] == ["cuda", "cuda", "cpu", "cpu"]


def test_github_actions_include_semantics() -> None:
    """The example of GitHub's documentation for matrix include, reproduced exactly."""
    combos = [{"fruit": f, "animal": a} for f, a in itertools.product(["apple", "pear"], ["cat", "dog"])]
    entries = [
        {"color": "green"},
        {"color": "pink", "animal": "cat"},
        {"fruit": "apple", "shape": "circle"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]
    assert apply_include(combos, entries, {"fruit", "animal"}) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("axes:\n  peft: ['0.99.0']\n", 2, "peft 0.99.0 does not exist (nearest releases: 0.17.0, 0.17.1, 0.21.2)"),
        ("axes:\n  peft: ['>=1.0']\n", 2, "no release of peft matches '>=1.0' (4 releases from 0.13.2 to 0.21.2)"),
        ("axes:\n  peft: [latest]\nstrategy: trio\n", 3, "Input should be 'full' or 'pairwise'"),
        (
            "axes:\n  peft: [latest]\nexclude:\n  - {torch: '2.13.0'}\n",
            4,
            "exclude rule names 'torch', which is not an axis",
        ),
        ("axes:\n  peft: [latest]\naxis: {}\n", 3, "unknown field 'axis' in scenario (valid: axes,"),
        ("axes:\n  peft: [{latest_minors: 0}]\n", 2, "greater than or equal to 1"),
        (
            "axes:\n  peft: [latest]\ninclude:\n  - {peft: latest, jobs: many}\n",
            4,
            "include: jobs: Input should be a valid integer",
        ),
        (
            "axes:\n  peft: [latest]\ninclude:\n  - {peft: latest, device: tpu}\n",
            4,
            "include: device: Input should be 'cpu' or 'cuda'",
        ),
    ],
)
def test_bad_matrix_is_one_clear_error_at_its_line(
    tmp_path: Path, index: PackageIndex, text: str, line: int, needle: str
) -> None:
    with pytest.raises(InputError) as caught:
        plan(tmp_path, index, text)
    assert caught.value.line == line, caught.value.format()
    assert needle in caught.value.format()


axis_values = st.lists(st.sampled_from("abcd"), min_size=1, max_size=4, unique=True)


@st.composite
def matrices(draw: st.DrawFn) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    names = draw(st.lists(st.sampled_from(["p", "q", "r", "s", "t"]), min_size=3, max_size=5, unique=True))
    axes = {name: [f"{name}{v}" for v in draw(axis_values)] for name in names}
    rules = draw(st.lists(st.dictionaries(st.sampled_from(names), st.just(""), min_size=1, max_size=2), max_size=3))
    exclude = [{k: draw(st.sampled_from(axes[k])) for k in rule} for rule in rules]
    return axes, exclude


@settings(max_examples=150, deadline=None)
@given(matrices())
def test_pairwise_covers_every_allowed_pair_and_no_excluded_combination(case) -> None:
    axes, exclude = case
    cells = [c for c in _all_combinations(axes, "pairwise", exclude) if not any(matches(r, c) for r in exclude)]
    full = [dict(zip(axes, v, strict=True)) for v in itertools.product(*axes.values())]
    allowed = [c for c in full if not any(matches(r, c) for r in exclude)]
    for a, b in itertools.combinations(axes, 2):
        wanted = {(c[a], c[b]) for c in allowed}
        covered = {(c[a], c[b]) for c in cells}
        assert wanted <= covered, (a, b, wanted - covered)
    assert len(cells) <= max(len(allowed), 1)


def test_github_job_matrix_covers_each_cell_once_and_respects_the_job_limit(
    tmp_path: Path, index: PackageIndex
) -> None:
    cells = plan(
        tmp_path,
        index,
        """
        axes:
          transformers: ["4.44.2", "4.57.6", "5.0.0"]
          peft: ["0.13.2", "0.17.1", "0.21.2"]
        """,
    ).cells
    one_each = github_matrix(cells)["include"]
    assert sorted(job["cells"] for job in one_each) == sorted(c.name for c in cells)
    grouped = github_matrix(cells, max_jobs=4)["include"]
    assert len(grouped) <= 4
    assert sorted(n for job in grouped for n in job["cells"].split()) == sorted(c.name for c in cells)
    assert {"name", "cells", "runs-on", "device", "python"} <= set(grouped[0])
    assert json.dumps(grouped)  # what `harness matrix --github` prints


matrix_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.text(max_size=8),
    st.sampled_from(["latest", "4.44.2", ">=0.17", "<<1", "==4.57.*", "cpu", "cuda"]),
)
matrix_values = st.recursive(
    matrix_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["latest_minors", "range", "pick", "transformers", "peft", "device", "jobs", "x"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=6,
)


@st.composite
def matrix_documents(draw: st.DrawFn) -> dict:
    document = {
        "axes": {"transformers": ["4.44.2", "latest"], "peft": [{"latest_minors": 2}]},
        "strategy": "pairwise",
        "exclude": [{"peft": ">=0.21"}],
        "include": [{"transformers": "4.57.6", "accelerate": "1.10.1"}],
        "selections": {"smoke": {"cells": [{"transformers": "4.57.6"}]}},
    }
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(["axes", "strategy", "exclude", "include", "defaults", "selections", "junk"]))
        document[key] = draw(matrix_values)
    return document


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "600")), deadline=None)
@given(matrix_documents())
def test_fuzzed_matrix_documents_load_or_fail_cleanly(document: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        links = Path(folder) / "links"
        links.mkdir()
        for package, versions in RELEASES.items():
            for version in versions:
                (links / f"{package}-{version}-py3-none-any.whl").write_bytes(b"")
        path = Path(folder) / "matrix.yaml"
        path.write_text(yaml.safe_dump(document))
        try:
            load_plan(path, PackageIndex(indexes=[], find_links=[str(links)], cache_dir=None))
        except InputError as error:
            assert error.format().startswith(f"{path}"), error.format()
