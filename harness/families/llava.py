"""LLaVA: a CLIP vision tower and a projector feeding image features into a Llama."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.families import _inputs
from harness.families._base import DEFAULT_GROUPS, TINY_DECODER, Family, Task

if TYPE_CHECKING:
    import torch

    from harness.dsl.schema import InputsSpec

# The placeholder is the last id, as in the real checkpoints (appended to the tokenizer).
IMAGE_TOKEN_ID = 127

VISION = {
    "hidden_size": 64,
    # 4x, as in CLIP; 128 would equal the vocabulary size, and peft's prompt learning takes the
    # first parameter that many rows tall (the vision tower comes first) for the word embeddings.
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "image_size": 16,
    "patch_size": 4,  # 4x4 patches: 16 image features per image
}

ATTENTION = ["q_proj", "v_proj"]  # the same names in CLIP and Llama: both towers are adapted
MLP = ["gate_proj", "up_proj", "down_proj", "fc1", "fc2"]  # Llama's MLP, then CLIP's


def make_config(transformers: Any, values: dict[str, Any]) -> Any:
    # Sub-config overrides merge into the tiny ones, so a scenario can change one size.
    values = dict(values)
    vision = transformers.CLIPVisionConfig(**{**VISION, **values.pop("vision_config", {})})
    text = transformers.LlamaConfig(**{**TINY_DECODER, **values.pop("text_config", {})})
    return transformers.LlavaConfig(vision_config=vision, text_config=text, **values)


def image_features_per_image(config: Any) -> int:
    vision = config.vision_config
    patches = (vision.image_size // vision.patch_size) ** 2
    # "default" drops the CLS feature, "full" keeps it.
    return patches + (config.vision_feature_select_strategy == "full")


def image_text(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One image per row: its placeholders first, then text, as a chat template puts them."""
    import torch

    # transformers renamed image_token_index to image_token_id (4.45); read whichever it has
    image_token = getattr(config, "image_token_id", None) or config.image_token_index
    text = _inputs.token_ids(spec, config, generator, high=image_token)
    per_image = image_features_per_image(config) if _processor_expands_images() else 1
    placeholders = torch.full((text.shape[0], per_image), image_token)
    ids = torch.cat([placeholders, text], dim=1)
    vision = config.vision_config
    size = (ids.shape[0], vision.num_channels, vision.image_size, vision.image_size)
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "pixel_values": torch.randn(size, generator=generator),
    }
    if spec.labels:
        batch["labels"] = _inputs.image_text_labels(ids, image_token)
    return batch


def _processor_expands_images() -> bool:
    """Since transformers 4.45 the processor writes one placeholder per image feature (its config
    gained image_seq_length); before, the model expanded a single placeholder per image itself."""
    import inspect

    import transformers

    return "image_seq_length" in inspect.signature(transformers.LlavaConfig.__init__).parameters


FAMILY = Family(
    name="llava",
    config_class="LlavaConfig",
    tiny={
        "vision_config": VISION,
        "text_config": TINY_DECODER,
        "image_token_index": IMAGE_TOKEN_ID,
        # One placeholder per image feature: (image_size / patch_size) ** 2, as 576 is for 336/14.
        # LLaVA-1.5's vision_feature_layer (-2) stays: the last CLIP layer, and any adapter on it,
        # is outside the graph, a real no-grad that the `gradients` check reports.
        "image_seq_length": 16,
    },
    tasks={
        "image-text-to-text": Task("LlavaForConditionalGeneration", image_text, "CAUSAL_LM", grad_input="pixel_values"),
    },
    targets={"attention": ATTENTION, "mlp": MLP, "all": [*ATTENTION, *MLP]},
    feedforward=["down_proj", "fc2"],
    # The projector only ever sees image features: it belongs to the vision side.
    groups=((r"multi_modal_projector", "vision"), *DEFAULT_GROUPS),
    make_config=make_config,
    deliberate={
        "image_token_index": "the default 32000 lies beyond the tiny vocabulary; 127, the last id, as when appended",
    },
    explore_rank=16,
)
