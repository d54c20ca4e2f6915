"""Synthetic, seeded batches for each kind of head.

torch is imported inside the builders: family modules reference them at import time, and listing
or validating scenarios must not pay for importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from harness.dsl.schema import InputsSpec

FIRST_ORDINARY_TOKEN = 3  # ids 0-2 hold the special tokens of the tiny configs (families/_base.py)


def token_ids(spec: InputsSpec, config: Any, generator: torch.Generator, high: int | None = None) -> torch.Tensor:
    """Ordinary tokens; ``high`` (exclusive) keeps them below ids a family reserves for images."""
    import torch

    if spec.token_ids is not None:
        return torch.tensor(spec.token_ids, dtype=torch.long)
    vocab = high or getattr(config, "vocab_size", None) or config.get_text_config().vocab_size
    shape = (spec.batch_size, spec.seq_len)
    return torch.randint(FIRST_ORDINARY_TOKEN, vocab, shape, generator=generator)


def causal_lm(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return causal_batch(token_ids(spec, config, generator), spec)


def causal_batch(ids: torch.Tensor, spec: InputsSpec) -> dict[str, torch.Tensor]:
    """A causal-LM batch for ``ids``: the model shifts its labels itself."""
    import torch

    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if spec.labels:
        batch["labels"] = ids.clone()
    return batch


def classification(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    ids = token_ids(spec, config, generator)
    return classification_batch(ids, spec, config, generator, per_token=False)


def token_classification(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    ids = token_ids(spec, config, generator)
    return classification_batch(ids, spec, config, generator, per_token=True)


def classification_batch(
    ids: torch.Tensor, spec: InputsSpec, config: Any, generator: torch.Generator, per_token: bool
) -> dict[str, torch.Tensor]:
    """A classification batch for ``ids``: one label per sequence, or one per token."""
    import torch

    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if spec.labels:
        shape = ids.shape if per_token else (ids.shape[0],)
        batch["labels"] = torch.randint(0, getattr(config, "num_labels", 2), shape, generator=generator)
    return batch


def seq2seq(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    import torch

    ids = token_ids(spec, config, generator)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if spec.labels:
        vocab = config.vocab_size
        batch["labels"] = torch.randint(FIRST_ORDINARY_TOKEN, vocab, ids.shape, generator=generator)
    else:
        batch["decoder_input_ids"] = ids.clone()
    return batch


def image_text_labels(ids: torch.Tensor, image_token_id: int) -> torch.Tensor:
    """Causal-LM labels that ignore the image placeholders, as multimodal collators do."""
    labels = ids.clone()
    labels[ids == image_token_id] = -100
    return labels


def split_rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch as a list of examples, for a Trainer dataset."""
    size = len(next(iter(batch.values())))
    return [{key: value[i] for key, value in batch.items()} for i in range(size)]


def stack_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The Trainer's collator: examples back into one batch."""
    import torch

    return {key: torch.stack([row[key] for row in rows]) for key in rows[0]}
