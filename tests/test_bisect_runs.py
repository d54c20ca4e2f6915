"""`harness bisect --on` for real: the release that fixed a silent bug, in uv environments.

peft #2889: get_peft_model(autocast_adapter_dtype=False) on a 4-bit model left the adapter in
fp32 instead of the bf16 compute dtype; every release passes, only `effective.trainable_dtypes`
tells them apart. Like tests/test_matrix_runs.py this builds pinned environments (warm cache:
seconds each) and needs the package index.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow
SCENARIO = ROOT / "scenarios" / "upstream" / "peft_2889_autocast_adapter_dtype_4bit.yaml"


def test_bisect_on_the_adapter_dtype_names_peft_0_19_0(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "harness",
        "bisect",
        "peft-2889-autocast-adapter-dtype-4bit[no-autocast]",
        str(SCENARIO),
        "--package",
        "peft",
        "--good",
        "0.19.1",
        "--bad",
        "0.18.0",
        "--on",
        "effective.trainable_dtypes.float32=null",
        *("--pin", "transformers==4.57.6", "--pin", "bitsandbytes==0.49.2"),
        *("--pin", "accelerate==1.10.1", "--pin", "torch==2.13.0"),
        "--workdir",
        str(tmp_path),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "last bad 0.18.1, first good 0.19.0" in done.stdout
    # silent where the adapter-dtype check applies, passed where it does not: the field decides either way
    judged = "effective.trainable_dtypes.float32=null: {} (effective.trainable_dtypes.float32 = {})"
    lines = done.stdout.splitlines()
    assert any(line.startswith("  0.18.1: ") and line.endswith(judged.format("false", 8)) for line in lines)
    assert any(line.startswith("  0.19.0: passed") and line.endswith(judged.format("true", "absent")) for line in lines)
