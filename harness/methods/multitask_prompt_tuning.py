"""Multitask prompt tuning: one shared prompt scaled per task; the batch carries task_ids."""

from harness.methods._task_ids import TaskIdsMethod

METHOD = TaskIdsMethod(
    name="multitask_prompt_tuning",
    config_class="MultitaskPromptTuningConfig",
    targets=None,
    derived=lambda scenario: {"num_virtual_tokens": 4, "num_tasks": 1},
)
