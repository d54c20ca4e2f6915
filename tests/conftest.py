"""Shared helpers: the real `harness` CLI in a subprocess, on real tiny models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str
    records: list[dict[str, Any]]

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {record["id"]: record for record in self.records}


def harness(*args: str | Path, out: Path | None = None, cwd: Path = ROOT, timeout: float = 900) -> Completed:
    """Run the installed CLI exactly as a user does and read back its results file."""
    command = [sys.executable, "-m", "harness", *map(str, args)]
    if out is not None:
        command += ["--out", str(out)]
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    records = []
    if out is not None and out.exists():
        records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return Completed(done.returncode, done.stdout, done.stderr, records)


def tagged_processes(tag: str) -> list[int]:
    """Live processes started for one test, found by the FT_HARNESS_TEST_TAG in their environment
    (a zombie's environment reads empty)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"FT_HARNESS_TEST_TAG={tag}".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="session")
def e2e_run(tmp_path_factory: pytest.TempPathFactory) -> Completed:
    out = tmp_path_factory.mktemp("e2e") / "results.jsonl"
    return harness("run", FIXTURES / "e2e" / "kinds.yaml", "-j", "2", out=out)


@pytest.fixture(scope="session")
def deaths_run(tmp_path_factory: pytest.TempPathFactory) -> Completed:
    out = tmp_path_factory.mktemp("deaths") / "results.jsonl"
    return harness("run", FIXTURES / "isolation", "-j", "2", out=out)


# -- the compatibility report (tests/test_report*.py) ---------------------------------------------

# An older stack, as users install it, across the transformers 5 boundary from the default one.
OLDER_STACK = {"transformers": "4.57.6", "peft": "0.17.1", "bitsandbytes": "0.49.2", "accelerate": "1.10.1"}
# `python -c WITHOUT_HARNESS script.py`: runs a script with `import harness` impossible (repro scripts stand alone).
WITHOUT_HARNESS = "import runpy, sys; sys.modules['harness'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
REPORT_SCENARIOS = (
    FIXTURES / "e2e" / "kinds.yaml",
    ROOT / "scenarios" / "seeds",
    ROOT / "scenarios" / "families" / "classifier_head_4bit.yaml",
    ROOT / "scenarios" / "families" / "submodel_gradients_reentrant.yaml",
)
REPORT_KEYWORD = "not llava and not qwen2_vl"
NIGHTLY_KEYWORD = "seed-001 or classifier-head or submodel-gradients-reentrant[family=whisper]"
# Markup in a real error message: peft's TypeError names the unexpected keyword verbatim.
HOSTILE = "<script>window.__ft_pwned=1</script><img src=x onerror=window.__ft_pwned=2>"
ESCAPE_SCENARIO = f"""\
id: escape-check
description: "an error message carrying markup: <b>bold</b> & {HOSTILE}"
model: {{family: llama}}
peft:
  config: {{"{HOSTILE}": 1}}
expect: {{outcome: failed, phase: attach, error: TypeError}}
"""
UNBUILDABLE_MATRIX = FIXTURES / "matrix" / "unbuildable.yaml"


def stack_python(pins: dict[str, str]) -> Path:
    """A virtualenv with these pins, this torch and the harness (editable), cached between sessions."""
    import hashlib
    import shutil
    from importlib import metadata

    wanted = {**pins, "torch": metadata.version("torch"), "project": str(ROOT), "python": sys.version}
    key = hashlib.sha1(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ft-harness" / "test-stacks" / key
    python = cache / "bin" / "python"
    marker = cache / "ft-harness-stack.json"
    if marker.exists():
        return python
    shutil.rmtree(cache, ignore_errors=True)
    requirements = [f"{name}=={version}" for name, version in wanted.items() if name not in ("project", "python")]
    uv = shutil.which("uv")
    if uv:
        # uv reads UV_*; the CPU torch wheel comes from wherever pip is configured to find it
        env = {**os.environ}
        for pip_name, uv_name in (
            ("PIP_FIND_LINKS", "UV_FIND_LINKS"),
            ("PIP_INDEX_URL", "UV_INDEX_URL"),
            ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL"),
        ):
            if os.environ.get(pip_name) and not os.environ.get(uv_name):
                env[uv_name] = os.environ[pip_name]
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(cache)], check=True, env=env)
        install = [uv, "pip", "install", "-q", "--python", str(python), *requirements, "-e", str(ROOT)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(cache)], check=True)
        install = [str(python), "-m", "pip", "install", "-q", *requirements, "-e", str(ROOT)]
    done = subprocess.run(install, capture_output=True, text=True, env=env if uv else None)
    assert done.returncode == 0, f"cannot build the {pins} stack:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    marker.write_text(json.dumps(wanted))
    return python


def harness_in(
    python: Path, *args: str | Path, cwd: Path = ROOT, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    command = [str(python), "-m", "harness", *map(str, args)]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@dataclass
class ReportData:
    """Real results for the report tests: two stacks, one unbuildable matrix cell, two nightlies."""

    folder: Path
    current: Path  # cell "current": this environment
    older: Path  # cell "older": OLDER_STACK
    unbuilt: Path  # an unresolvable matrix cell (its records say so; no scenario ran)
    nightly_older: Path  # cell "nightly", first on OLDER_STACK ...
    nightly_current: Path  # ... then on this environment: what a nightly sees when its stack moves
    scenarios: list[Path]

    @property
    def grid_files(self) -> list[Path]:
        return [self.older, self.current, self.unbuilt]


@pytest.fixture(scope="session")
def report_data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    folder = tmp_path_factory.mktemp("report-data")
    escape = folder / "escape.yaml"
    escape.write_text(ESCAPE_SCENARIO)
    scenarios = [*REPORT_SCENARIOS, escape]
    older_python = stack_python(OLDER_STACK)
    data = ReportData(
        folder,
        folder / "current.jsonl",
        folder / "older.jsonl",
        folder / "unbuilt.jsonl",
        folder / "nightly-older.jsonl",
        folder / "nightly-current.jsonl",
        scenarios,
    )
    runs = [
        (older_python, data.older, ["--cell", "older", "-k", REPORT_KEYWORD]),
        (Path(sys.executable), data.current, ["--cell", "current", "-k", REPORT_KEYWORD]),
        (older_python, data.nightly_older, ["--cell", "nightly", "-k", NIGHTLY_KEYWORD]),
        (Path(sys.executable), data.nightly_current, ["--cell", "nightly", "-k", NIGHTLY_KEYWORD]),
    ]
    for python, out, options in runs:
        done = harness_in(python, "run", *scenarios, "-j", "2", *options, "--out", out)
        assert done.returncode in (0, 1) and out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    data.unbuilt.write_text(_unresolvable_cell_records())
    return data


def _unresolvable_cell_records() -> str:
    """The matrix's own records of a cell whose pins cannot be resolved together (nox, seconds)."""
    import shutil
    import uuid

    cells = json.loads(harness_in(Path(sys.executable), "matrix", "--file", UNBUILDABLE_MATRIX, "--json").stdout)
    name = next(c["name"] for c in cells if "tokenizers" in c["pins"])
    run = f"pytest-report-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "HARNESS_MATRIX_FILE": str(UNBUILDABLE_MATRIX), "HARNESS_MATRIX_RUN": run}
    command = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "-s", f"matrix({name})"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    folder = ROOT / "reports" / "matrix" / run
    try:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return (folder / f"{name}.jsonl").read_text()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium calls home, and this machine's closed network refuses it
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots of the report taken by the browser tests, kept for people to look at (git-ignored).
ARTIFACTS = ROOT / "reports" / "test-artifacts"


@pytest.fixture(scope="session")
def chromium() -> Any:
    """Debian's Chromium (.ci/system-deps installs it) driven by Playwright."""
    import shutil

    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("the report's browser tests need Chromium: run .ci/system-deps (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
