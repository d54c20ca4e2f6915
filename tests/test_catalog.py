"""The default catalog: well-formed, broad, and every entry as expected on this environment."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, Completed, harness

from harness.dsl.catalog import load_catalog

SCENARIOS = ROOT / "scenarios"
# The seed pages, kept beside their scenarios so a clean clone holds the evidence it judges; the
# originals are in ../shared/seeds/ on the machines they were handed out on.
SEEDS = sorted((SCENARIOS / "seeds" / "pages").glob("*.txt"))
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog([SCENARIOS])


@pytest.fixture(scope="module")
def catalog_run(tmp_path_factory: pytest.TempPathFactory) -> Completed:
    out = tmp_path_factory.mktemp("catalog") / "results.jsonl"
    return harness("run", "-j", "2", out=out)


def test_catalog_loads_cleanly_and_is_broad(catalog) -> None:
    assert catalog.errors == []
    assert len(catalog.variants) >= 80
    themes = Counter(Path(v.source).relative_to(SCENARIOS).parts[0] for v in catalog.variants)
    assert set(themes) >= {
        "seeds",
        "upstream",
        "methods",
        "families",
        "quantization",
        "checkpointing",
        "precision",
        "steps",
    }


def test_catalog_covers_every_dimension(catalog) -> None:
    scenarios = [v.scenario for v in catalog.variants]
    from harness.checkpointing import PATHS
    from harness.families import FAMILIES
    from harness.methods import METHODS
    from harness.quantization import BACKENDS

    assert {s.model.family for s in scenarios} == set(FAMILIES)
    assert {s.peft.method for s in scenarios} == set(METHODS)
    assert {s.quantization.backend for s in scenarios} == set(BACKENDS)
    assert {s.checkpointing.via for s in scenarios if s.checkpointing.enabled} == set(PATHS)
    assert {s.checkpointing.use_reentrant for s in scenarios if s.checkpointing.enabled} == {True, False, None}
    assert {(s.precision.dtype, s.precision.mode) for s in scenarios} >= {
        ("fp32", "weights"),
        ("bf16", "weights"),
        ("fp16", "weights"),
        ("bf16", "autocast"),
        ("fp16", "autocast"),
    }
    assert any(s.precision.grad_scaler for s in scenarios)
    assert {s.peft.attach for s in scenarios} == {"get_peft_model", "add_adapter"}
    assert any(s.steps.second_backward for s in scenarios) and any(s.steps.repeat_forward for s in scenarios)
    assert any(s.runner == "trainer" for s in scenarios)
    assert any(s.model.hook or s.steps.hook for s in scenarios)


def test_every_seed_page_is_claimed_broken_and_fixed(catalog) -> None:
    assert len(SEEDS) >= 3, "the seed pages live in scenarios/seeds/pages/"
    for seed in SEEDS:
        roles = {c.role for v in catalog.variants for c in v.scenario.claim if c.source.endswith(seed.name)}
        assert {"broken", "fixed"} <= roles, seed.name


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="no ../shared/seeds/ beside this checkout to compare with")
def test_the_kept_seed_pages_are_the_handed_out_ones() -> None:
    originals = {page.name: page.read_bytes() for page in SHARED_SEEDS.glob("*.txt")}
    assert {page.name: page.read_bytes() for page in SEEDS} == originals


def test_upstream_entries_cite_their_issues(catalog) -> None:
    upstream = [v.scenario for v in catalog.variants if "/upstream/" in v.source]
    assert len({s.base_id for s in upstream}) >= 15
    for scenario in upstream:
        assert any(link.startswith("https://github.com/") for link in scenario.links), scenario.id


@pytest.mark.slow
def test_whole_catalog_runs_as_expected(catalog, catalog_run: Completed) -> None:
    assert catalog_run.code == 0, catalog_run.stdout[-6000:] + catalog_run.stderr[-2000:]
    assert sorted(r["id"] for r in catalog_run.records) == sorted(v.id for v in catalog.variants)
    assert all(r["expectation"]["verdict"] == "as_expected" for r in catalog_run.records)


@pytest.mark.slow
def test_seed_claims_are_judged_from_what_happened(catalog_run: Completed) -> None:
    verdicts = {(r["id"], c["role"]): c["verdict"] for r in catalog_run.records for c in r["claims"]}
    # the page's broken code does fail, but with a TypeError at attach, not its RuntimeError at backward
    assert verdicts[("seed-000-lora-config-gradient-checkpointing[broken]", "broken")] == "partly"
    assert verdicts[("seed-000-lora-config-gradient-checkpointing[fixed]", "fixed")] == "refuted"
    assert verdicts[("seed-001-peft-checkpointing-backward-twice[broken]", "broken")] == "refuted"
    assert verdicts[("seed-001-peft-checkpointing-backward-twice[fixed]", "fixed")] == "confirmed"
    assert verdicts[("seed-001-peft-checkpointing-backward-twice[backward-twice]", "claim")] == "confirmed"
    assert verdicts[("seed-002-kbit-prepare-use-reentrant[kbit-non-reentrant]", "fixed")] == "confirmed"
    assert verdicts[("seed-002-kbit-prepare-use-reentrant[no-hook-reentrant]", "broken")] == "confirmed"
    assert "Published claims, judged in this environment" in catalog_run.stdout
