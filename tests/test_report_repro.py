"""`harness repro`: standalone scripts that reproduce recorded outcomes without the harness."""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import OLDER_STACK, WITHOUT_HARNESS, ReportData, harness

from harness.dsl.catalog import load_catalog
from harness.families import FAMILIES
from harness.quantization import BACKENDS
from harness.report.cells import build_cells
from harness.report.records import read_files
from harness.report.repro.compare import printed_outcome, same_outcome
from harness.report.repro.export import recorded_outcome
from harness.report.repro.inline import inline_functions
from harness.report.repro.script import render_script

# One of each kind: passed, failed at attach, silent on 4-bit, a step hook, prepare_model_for_kbit_training
# with reentrant checkpointing, a second backward, an encoder-decoder speech model, a 4-bit classifier,
# and an adapter keyword full of markup and quotes.
VARIANTS = [
    "kinds[passes]",
    "kinds[bad-keyword]",
    "kinds[silent-no-grad]",
    "kinds[nan-grads]",
    "seed-002-kbit-prepare-use-reentrant[no-hook-reentrant]",
    "seed-001-peft-checkpointing-backward-twice[backward-twice]",
    "submodel-gradients-reentrant[family=whisper]",
    "classifier-head-4bit[bert]",
    "escape-check",
]


@pytest.fixture(scope="module")
def reproduced(report_data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, str, str]]:
    """variant -> (record, what its exported script printed last, all it printed)."""
    records = {r["id"]: r for r in read_files([report_data.current]).records}
    folder = tmp_path_factory.mktemp("repro")

    def export_and_run(variant: str) -> tuple[dict, str, str]:
        out = folder / variant.replace("[", "_").replace("]", "_")
        done = harness("repro", variant, "--cell", "current", "--results", report_data.current, "--out", out)
        assert done.code == 0, done.stderr
        script = next(out.glob("repro_*.py"))
        ran = subprocess.run(
            [sys.executable, "-c", WITHOUT_HARNESS, str(script)], capture_output=True, text=True, timeout=600
        )
        return records[variant], printed_outcome(ran.stdout) or "", ran.stdout + ran.stderr

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(VARIANTS, pool.map(export_and_run, VARIANTS), strict=True))


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_exported_script_reproduces_its_recorded_outcome_on_its_own(reproduced: dict, variant: str) -> None:
    record, printed, output = reproduced[variant]
    assert same_outcome(record, printed), f"recorded: {recorded_outcome(record)}\nscript:   {printed}\n{output[-3000:]}"


def test_the_script_says_what_was_recorded_and_how_to_run_it(report_data: ReportData, tmp_path: Path) -> None:
    done = harness("repro", "kinds[bad-keyword]", "--results", report_data.current, "--cell", "curr", "--out", tmp_path)
    assert done.code == 0, done.stderr
    script = (tmp_path / "repro_kinds_bad-keyword.py").read_text()
    record = next(r for r in read_files([report_data.current]).records if r["id"] == "kinds[bad-keyword]")
    assert recorded_outcome(record) in script and "pip install -r requirements.txt" in script
    assert "peft.get_peft_model(model, peft_config)" in script and "no_such_option=1" in script
    assert f"recorded in current: {recorded_outcome(record)}" in done.stdout


def test_requirements_pin_the_cells_exact_environment(report_data: ReportData, tmp_path: Path) -> None:
    done = harness("repro", "kinds[passes]", "--results", report_data.older, "--out", tmp_path)
    assert done.code == 0, done.stderr
    pins = [line for line in (tmp_path / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    lock = read_files([report_data.older]).records[0]["env"]["lock"]
    assert pins[:5] == [f"{p}=={lock[p]}" for p in ("torch", "transformers", "peft", "bitsandbytes", "accelerate")]
    assert f"transformers=={OLDER_STACK['transformers']}" in pins
    assert sorted(pins) == sorted(
        f"{name}=={version}"
        for name, version in lock.items()
        if name not in ("ft-harness", "pip", "setuptools", "wheel", "uv")
    )


def test_a_cell_that_never_built_exports_its_pins_only(report_data: ReportData, tmp_path: Path) -> None:
    done = harness("repro", "kinds[passes]", "--results", report_data.unbuilt, "--out", tmp_path)
    assert done.code == 0, done.stderr
    assert not list(tmp_path.glob("*.py"))
    requirements = (tmp_path / "requirements.txt").read_text()
    assert "transformers==4.36.2" in requirements and "tokenizers==0.21.0" in requirements
    assert "never built" in requirements and "unresolvable" in done.stdout


def test_choosing_a_record_explains_what_is_missing(report_data: ReportData) -> None:
    unknown = harness("repro", "kinds[bad-keywrd]", "--results", report_data.current)
    assert unknown.code == 2 and "did you mean 'kinds[bad-keyword]'" in unknown.stderr
    ambiguous = harness("repro", "kinds[passes]", "--results", report_data.current, "--results", report_data.older)
    assert ambiguous.code == 2 and "pick one with --cell: older, current" in ambiguous.stderr


def test_every_recorded_scenario_becomes_a_script_that_never_imports_the_harness(report_data: ReportData) -> None:
    records = read_files([report_data.current, report_data.older, report_data.nightly_older]).records
    for record in records:
        cell = build_cells([record])[0]
        source = render_script(record, "repro.py", cell.label, recorded_outcome(record))
        tree = ast.parse(source)  # it is Python
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [name for name in imported if name.split(".")[0] == "harness"], record["id"]


@pytest.mark.parametrize("family", FAMILIES.names())
def test_every_familys_batch_builder_inlines_as_plain_code(family: str) -> None:
    for task in FAMILIES[family].tasks.values():
        source = inline_functions([task.inputs])
        compile(source, f"<{family}>", "exec")
        assert "harness" not in source


def test_quantization_configs_match_what_the_harness_builds() -> None:
    """The script's quantization_config is the pipeline's: one function, recorded vs called."""
    import importlib

    from harness.execution.pipeline import real_modules
    from harness.report.repro.inline import RecordingModules, literal

    catalog = load_catalog([Path("scenarios")])
    quantized = [v.scenario for v in catalog.variants if BACKENDS[v.scenario.quantization.backend].quantizes]
    scenarios = {s.quantization.model_dump_json(): s for s in quantized}
    assert scenarios
    for scenario in scenarios.values():
        backend = BACKENDS[scenario.quantization.backend]
        options = backend.options(scenario)
        recording = RecordingModules()
        code = literal(backend.quantization_config(options, recording))
        namespace = {name.split(".")[0]: importlib.import_module(name.split(".")[0]) for name in recording.used}
        for name in recording.used:
            importlib.import_module(name)
        emitted = eval(code, namespace)
        built = backend.quantization_config(options, real_modules)
        assert type(emitted) is type(built), code
        assert repr(emitted.to_dict()) == repr(built.to_dict()), code
