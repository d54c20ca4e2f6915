"""Sweep findings reproduced standalone: `harness repro` of four catalog scenarios the sweep found
(a silent unquantized model, a forward failure, a refused checkpointing, a quantized layer computing
wrong numbers), each exported script run with the harness unimportable and printing the outcome
its record holds: the script makes the `quantized` and `quant-error` checks itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, WITHOUT_HARNESS, harness

from harness.report.records import read_files
from harness.report.repro.compare import printed_outcome, same_outcome
from harness.report.repro.export import recorded_outcome

pytest.importorskip("transformers")

ARCHITECTURES = ROOT / "scenarios" / "architectures"
FINDINGS = {
    "arch-falcon-bnb-linear-subclass-unquantized": "falcon_bnb_linear_subclass_unquantized.yaml",
    "arch-blt-input-grads-inplace": "blt_input_grads_inplace.yaml",
    "arch-no-checkpointing-support[architecture=ctrl]": "no_checkpointing_support.yaml",
    "arch-hy-v4-bnb-indexer-input-cast-to-uint8": "hy_v4_bnb_indexer_input_cast_to_uint8.yaml",
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    out = tmp_path_factory.mktemp("findings") / "results.jsonl"
    files = sorted({ARCHITECTURES / name for name in FINDINGS.values()})
    done = harness("run", *files, "-k", "not xlnet and not openai-gpt", "-j", "2", out=out)
    assert done.code == 0, done.stdout + done.stderr
    return out, {record["id"]: record for record in read_files([out]).records}


@pytest.mark.parametrize("variant", list(FINDINGS))
def test_a_sweep_finding_reproduces_standalone(
    recorded: tuple[Path, dict[str, dict]], variant: str, tmp_path: Path
) -> None:
    results, records = recorded
    record = records[variant]
    assert record["outcome"] in ("failed", "silent"), record["outcome"]  # a finding, not a pass
    done = harness("repro", variant, "--results", results, "--out", tmp_path)
    assert done.code == 0, done.stdout + done.stderr
    script = next(tmp_path.glob("repro_*.py"))
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_HARNESS, str(script)], capture_output=True, text=True, timeout=600
    )
    printed = printed_outcome(ran.stdout)
    output = (ran.stdout + ran.stderr)[-3000:]
    assert same_outcome(record, printed), f"recorded: {recorded_outcome(record)}\nscript:   {printed}\n{output}"
