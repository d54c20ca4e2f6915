"""Which architectures the installed transformers has, per task, read without importing it.

Validating a scenario must stay instant, and importing ``transformers.models.auto`` imports torch
(~5 s). The auto mappings are plain literals in transformers' own source (model type -> class
name), so they are read from the installed files with ``ast``: no import, no execution. Where the
files cannot be read or parsed (an unusual install), validation says nothing and the run decides.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from collections.abc import Mapping
from pathlib import Path

# task -> the auto mapping of transformers whose classes build that head
TASK_MAPPINGS: dict[str, str] = {
    "causal-lm": "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
    "seq2seq-lm": "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES",
    "seq-cls": "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
    "token-cls": "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES",
    "speech-seq2seq": "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES",
    "image-text-to-text": "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES",
}
# the peft task type of each head (None: peft's generic PeftModel, as Hugging Face's speech guides do)
PEFT_TASK_TYPES: dict[str, str | None] = {
    "causal-lm": "CAUSAL_LM",
    "seq2seq-lm": "SEQ_2_SEQ_LM",
    "seq-cls": "SEQ_CLS",
    "token-cls": "TOKEN_CLS",
    "speech-seq2seq": None,
    "image-text-to-text": "CAUSAL_LM",
}
DEFAULT_TASK = "causal-lm"


@functools.lru_cache(maxsize=1)
def _auto_dir() -> Path | None:
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "auto"


def _literal_mappings(path: Path, known: dict[str, dict[str, object]]) -> None:
    """Every top-level ``NAME = OrderedDict([...])`` (or ``OrderedDict(**{...}, **OTHER)``) of a file."""
    if not path.is_file():
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        call = node.value
        if not isinstance(call, ast.Call):
            continue
        values: dict[str, object] = {}
        try:
            for argument in call.args:
                values.update(dict(ast.literal_eval(argument)))
            for keyword in call.keywords:
                if keyword.arg is not None:
                    continue
                if isinstance(keyword.value, ast.Name):
                    values.update(known.get(keyword.value.id, {}))
                else:
                    values.update(ast.literal_eval(keyword.value))
        except (ValueError, TypeError, SyntaxError):
            continue
        if values and all(isinstance(key, str) for key in values):
            known[node.targets[0].id] = values


@functools.lru_cache(maxsize=1)
def mappings() -> dict[str, dict[str, object]]:
    """transformers' auto mapping literals by name ({} where they cannot be read)."""
    folder = _auto_dir()
    known: dict[str, dict[str, object]] = {}
    if folder is None:
        return known
    for name in ("auto_mappings.py", "configuration_auto.py", "modeling_auto.py"):
        try:
            _literal_mappings(folder / name, known)
        except (OSError, SyntaxError):
            return {}
    return known


def config_classes() -> dict[str, str]:
    """model type -> config class name of the installed transformers ({} if unreadable)."""
    return {k: v for k, v in mappings().get("CONFIG_MAPPING_NAMES", {}).items() if isinstance(v, str)}


def model_types(task: str) -> dict[str, str]:
    """model type -> model class name for ``task``'s head ({} if unreadable)."""
    found = mappings().get(TASK_MAPPINGS[task], {})
    return {k: v for k, v in found.items() if isinstance(v, str)}


def model_type_of(architecture: str, classes: Mapping[str, str]) -> str | None:
    """The model type an architecture names: a model type itself, or its config class's name."""
    if architecture in classes:
        return architecture
    return next((model_type for model_type, name in classes.items() if name == architecture), None)
