"""Poly: a per-task router over a small inventory of LoRA modules; the batch carries task_ids."""

from harness.methods._task_ids import TaskIdsMethod

METHOD = TaskIdsMethod(
    name="poly",
    config_class="PolyConfig",
    fixed={"r": 8, "n_tasks": 1},
    non_identity={"init_weights": False},
)
