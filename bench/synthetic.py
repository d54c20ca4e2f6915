"""Synthetic report data at scale, made of real records: N variants x M cells.

Real records (from `harness run` or a matrix run) are copied onto more variant ids and more
cells. Each synthetic cell takes a real cell's records and a version bump, so columns differ;
a few percent of the copies get a failure with their own signature, so signature groups and
boundaries have work to do. Deterministic for a given seed.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from harness.report.cells import cell_key


def synthesize(records: list[dict[str, Any]], rows: int, cells: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    by_cell: dict[str, dict[str, dict[str, Any]]] = {}
    for record in records:
        by_cell.setdefault(cell_key(record), {})[record["id"]] = record
    real_cells = sorted(by_cell)
    variants = sorted({r["id"] for r in records})
    out = []
    for j in range(cells):
        base_cell = real_cells[j % len(real_cells)]
        name = base_cell if j < len(real_cells) else f"{base_cell}-copy{j // len(real_cells)}"
        env = copy.deepcopy(next(iter(by_cell[base_cell].values())).get("env") or {})
        if j >= len(real_cells):
            env["accelerate"] = f"9.{j}.0"  # a distinct header per synthetic column
        for i in range(rows):
            base_id = variants[i % len(variants)]
            source = by_cell[base_cell].get(base_id) or next(r for r in records if r["id"] == base_id)
            record = dict(source)
            record["id"] = base_id if i < len(variants) else f"{base_id}~{i // len(variants)}"
            record["cell"] = name
            record["env"] = env
            if rng.random() < 0.03:
                _fail(record, rng.randrange(40))
            out.append(record)
    return out


def _fail(record: dict[str, Any], kind: int) -> None:
    message = f"synthetic failure number {kind}: shape mismatch in layer {kind % 7}"
    record["outcome"] = "failed"
    record["phase"] = "backward"
    record["error"] = {
        "type": "RuntimeError",
        "bases": ["RuntimeError"],
        "message": message,
        "causes": [],
        "traceback": [],
    }
    record["signature"] = {
        "id": f"synth{kind:05d}",
        "text": f"backward | RuntimeError: synthetic failure number {kind}",
    }
