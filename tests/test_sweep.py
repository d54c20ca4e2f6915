"""`harness sweep` as a user runs it: a few architectures of the real stack, one base case.

llama passes, ctrl declares no checkpointing support (one failure signature), and reformer's
causal-LM head cannot be built from its own defaults (is_decoder is False there), so it is skipped
at build with that reason. One case of the base scenario keeps it to three variants.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, harness

pytest.importorskip("transformers")

ARCHITECTURES = ["llama", "ctrl", "reformer"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    folder = tmp_path_factory.mktemp("sweep")
    markdown = folder / "sweep.md"
    done = harness(
        "sweep",
        ROOT / "sweeps" / "lora_checkpointing.yaml",
        "-k",
        "non-reentrant-after",
        "--architectures",
        ",".join(ARCHITECTURES),
        "-j",
        "2",
        "--markdown",
        markdown,
        out=folder / "out.jsonl",
    )
    assert done.code == 0, done.stdout + done.stderr
    return done, markdown


def test_results_file_has_one_record_per_architecture(swept: tuple[object, Path]) -> None:
    done, _ = swept
    records = {record["axes"]["architecture"]: record for record in done.records}  # type: ignore[attr-defined]
    assert sorted(records) == sorted(ARCHITECTURES)
    assert records["llama"]["id"] == "lora-ckpt-sweep[arch=llama,non-reentrant-after]"
    assert records["llama"]["scenario"]["model"]["family"] == "auto"
    assert records["llama"]["outcome"] == "passed"
    assert records["ctrl"]["outcome"] == "failed"
    assert records["ctrl"]["phase"] == "enable-checkpointing"


def test_skipped_architecture_carries_the_precise_reason(swept: tuple[object, Path]) -> None:
    done, _ = swept
    reformer = next(r for r in done.records if r["axes"]["architecture"] == "reformer")  # type: ignore[attr-defined]
    assert (reformer["outcome"], reformer["phase"]) == ("skipped", "build")
    assert "ReformerModelWithLMHead cannot be built from the tiny config" in reformer["reason"]
    assert "is_decoder=True" in reformer["reason"]
    assert "the class's own default config fails the same way" in reformer["reason"]


def test_summary_groups_architectures_by_signature(swept: tuple[object, Path]) -> None:
    done, markdown = swept
    stdout = done.stdout  # type: ignore[attr-defined]
    assert "3 architectures | 2 built tiny | 1 passed every variant | 1 not passed somewhere" in stdout
    assert "sweep wall time:" in stdout
    rows = [line for line in markdown.read_text().splitlines() if line.startswith("| ")]
    by_outcome = {row.split(" | ")[0].lstrip("| "): row for row in rows[1:]}
    assert by_outcome["failed"].endswith("| ctrl |")
    assert "does not support" in by_outcome["failed"]
    assert by_outcome["skipped"].endswith("| reformer |")
    assert by_outcome["passed"].startswith("| passed | 1 | 1 |")
