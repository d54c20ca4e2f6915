"""Qwen2-VL: a ViT over flattened patch sequences (image_grid_thw) and a Qwen2 with M-RoPE."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from harness.families import _inputs
from harness.families._base import TINY_DECODER, Family, Task

if TYPE_CHECKING:
    import torch

    from harness.dsl.schema import InputsSpec

# Special ids at the top of the vocabulary in the real order: vision start/end, image, video.
VISION_START, VISION_END, IMAGE_TOKEN_ID, VIDEO_TOKEN_ID = 124, 125, 126, 127
GRID = (1, 4, 4)  # one temporal patch of 4x4 spatial patches per image

# Sizes only: mlp_ratio (4), spatial_merge_size (2), temporal_patch_size (2) and in_channels (3)
# are the defaults, as in the real model (a ratio of 2 would make fc1 vocabulary-tall, and peft's
# prompt learning takes the first such parameter, the vision tower's, for the word embeddings).
VISION = {
    "depth": 2,
    "embed_dim": 64,
    "hidden_size": 64,  # the merger's output: the text model's hidden size
    "num_heads": 4,
    "patch_size": 2,
}

ATTENTION = ["q_proj", "v_proj", "qkv"]  # the text model's, then the vision blocks' fused qkv
MLP = ["gate_proj", "up_proj", "down_proj", "fc1", "fc2"]  # the text MLP, then the vision MLP


def make_config(transformers: Any, values: dict[str, Any]) -> Any:
    # The text settings stay top-level: older Qwen2VLConfig has no text_config, newer ones
    # gather text keys from the top level. vision_config overrides merge into the tiny one.
    values = dict(values)
    vision = {**VISION, **values.pop("vision_config", {})}
    return transformers.Qwen2VLConfig(vision_config=vision, **values)


def image_tokens_per_image(config: Any) -> int:
    t, h, w = GRID
    return t * h * w // config.vision_config.spatial_merge_size**2


def image_text(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One image per row, wrapped in vision start/end tokens, then text, as the processor does."""
    import torch

    text = _inputs.token_ids(spec, config, generator, high=VISION_START)
    rows = text.shape[0]
    image = torch.tensor(
        [
            config.vision_start_token_id,
            *[config.image_token_id] * image_tokens_per_image(config),
            config.vision_end_token_id,
        ]
    )
    ids = torch.cat([image.expand(rows, -1), text], dim=1)
    vision = config.vision_config
    patch = vision.in_channels * vision.temporal_patch_size * vision.patch_size**2
    patches = GRID[0] * GRID[1] * GRID[2]
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        # The processor's layout: every image's patches flattened into one (patches, C*T*P*P) tensor.
        "pixel_values": torch.randn(rows * patches, patch, generator=generator),
        "image_grid_thw": torch.tensor([GRID] * rows),
    }
    if _accepts_mm_token_type_ids():
        batch["mm_token_type_ids"] = (ids == config.image_token_id).int()
    if spec.labels:
        batch["labels"] = _inputs.image_text_labels(ids, config.image_token_id)
    return batch


def rows(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Examples for a Trainer dataset: each row takes its own image's share of the flat patches."""
    per_image = GRID[0] * GRID[1] * GRID[2]
    examples = []
    for i in range(batch["input_ids"].shape[0]):
        example = {key: value[i] for key, value in batch.items() if key != "pixel_values"}
        example["pixel_values"] = batch["pixel_values"][i * per_image : (i + 1) * per_image]
        examples.append(example)
    return examples


def collate(examples: list[dict[str, Any]]) -> dict[str, Any]:
    """The processor's layout again: patches concatenated, everything else stacked."""
    import torch

    batch = _inputs.stack_rows([{k: v for k, v in e.items() if k != "pixel_values"} for e in examples])
    batch["pixel_values"] = torch.cat([e["pixel_values"] for e in examples])
    return batch


def _accepts_mm_token_type_ids() -> bool:
    # transformers 5 computes M-RoPE positions from the processor's mm_token_type_ids and
    # refuses image_grid_thw without them; older versions have no such parameter.
    import transformers

    model = getattr(transformers, "Qwen2VLModel", None)
    return model is not None and "mm_token_type_ids" in inspect.signature(model.forward).parameters


FAMILY = Family(
    name="qwen2_vl",
    config_class="Qwen2VLConfig",
    tiny={
        **TINY_DECODER,
        # Qwen2's <|endoftext|> and <|im_end|> (151643, 151645) in the tiny vocabulary.
        "bos_token_id": 1,
        "eos_token_id": 2,
        # M-RoPE splits each head's 8 rotary frequencies over time, height and width.
        "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
        "vision_config": VISION,
        "vision_start_token_id": VISION_START,
        "vision_end_token_id": VISION_END,
        "image_token_id": IMAGE_TOKEN_ID,
        "video_token_id": VIDEO_TOKEN_ID,
    },
    tasks={
        "image-text-to-text": Task(
            "Qwen2VLForConditionalGeneration",
            image_text,
            "CAUSAL_LM",
            grad_input="pixel_values",
            rows=rows,
            collate=collate,
        ),
    },
    targets={"attention": ATTENTION, "mlp": MLP, "all": [*ATTENTION, *MLP]},
    feedforward=["down_proj", "fc2"],
    make_config=make_config,
    deliberate={
        "bos_token_id": "the default 151643 lies beyond the tiny vocabulary",
        "eos_token_id": "the default 151645 lies beyond the tiny vocabulary",
        "rope_scaling": (
            "M-RoPE's mrope_section splits head_dim / 2 rotary frequencies (64 of the real 128-wide heads);"
            " the tiny heads have 8: a size consequence"
        ),
        "vision_start_token_id": "the default 151652 lies beyond the tiny vocabulary; 124, in the real order",
        "vision_end_token_id": "the default 151653 lies beyond the tiny vocabulary; 125, in the real order",
        "image_token_id": "the default 151655 lies beyond the tiny vocabulary; 126, in the real order",
        "video_token_id": "the default 151656 lies beyond the tiny vocabulary; 127, in the real order",
    },
    explore_rank=17,
)
