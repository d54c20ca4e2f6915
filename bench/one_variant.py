"""Run one catalog variant in this interpreter: what a folder of repro scripts costs per script."""

import sys
import time

started = time.perf_counter()
from harness.dsl.catalog import load_catalog  # noqa: E402
from harness.execution.pipeline import run_variant  # noqa: E402
from harness.execution.stack import import_stack  # noqa: E402

import_stack()
variant = load_catalog([sys.argv[1]]).by_id()[sys.argv[2]]
observation = run_variant(variant.scenario, "cpu", lambda phase: None)
print(observation["outcome"], round(time.perf_counter() - started, 3))
