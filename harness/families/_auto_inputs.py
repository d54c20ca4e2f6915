"""Synthetic, seeded batches for the auto family: derived from the config alone.

These functions are inlined verbatim into repro scripts (harness/report/repro/inline.py): each is a
plain function of (inputs spec, config, torch generator) using only the helpers and constants of
this module and the batch shapes of families/_inputs.py. Ordinary tokens are drawn below the tiny
vocabulary (128) and avoid every id the config names (pad, bos, eos, image and audio
placeholders), so a text-only batch never carries a placeholder the model would try to fill.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from harness.families import _inputs

if TYPE_CHECKING:
    import torch

    from harness.dsl.schema import InputsSpec

FIRST_TOKEN = 3
TOKEN_RANGE = 128
TOKEN_ID_FIELD = r"(_token_id|_token_index|_token_ids)$"
AUDIO_SAMPLES = 1600  # 0.1 s at 16 kHz: raw-waveform encoders
IMAGE_TOKEN_FIELD = r"^image_token_(id|index)$"


def config_fields(config: Any) -> list[tuple[str, Any]]:
    """Every (field, value) of the config and its sub-configs (iterative: the repro inliner walks calls)."""
    fields = []
    pending = [config]
    while pending:
        for key, value in vars(pending.pop()).items():
            if hasattr(value, "to_dict") and hasattr(value, "model_type"):
                pending.append(value)
            else:
                fields.append((key, value))
    return fields


def named_token_ids(config: Any) -> set[int]:
    """Every token id the config and its sub-configs name."""
    found: set[int] = set()
    for key, value in config_fields(config):
        if re.search(TOKEN_ID_FIELD, key):
            values = value if isinstance(value, (list, tuple)) else [value]
            found |= {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
    return found


def ordinary_tokens(spec: InputsSpec, config: Any, generator: torch.Generator) -> torch.Tensor:
    import torch

    if spec.token_ids is not None:
        return torch.tensor(spec.token_ids, dtype=torch.long)
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    high = min(getattr(text, "vocab_size", None) or TOKEN_RANGE, TOKEN_RANGE)
    reserved = named_token_ids(config)
    allowed = torch.tensor([i for i in range(FIRST_TOKEN, high) if i not in reserved])
    picks = torch.randint(0, len(allowed), (spec.batch_size, spec.seq_len), generator=generator)
    return allowed[picks]


def decoder_start(config: Any) -> int:
    for key in ("decoder_start_token_id", "pad_token_id", "bos_token_id"):
        value = getattr(config, key, None)
        if isinstance(value, int):
            return value
    return 0


def shift_right(labels: torch.Tensor, start: int) -> torch.Tensor:
    """Decoder inputs from labels, as DataCollatorForSeq2Seq has the model prepare them."""
    import torch

    return torch.cat([torch.full_like(labels[:, :1], start), labels[:, :-1]], dim=1)


def names_image_token(config: Any) -> bool:
    """Whether the config or a sub-config names an image placeholder token."""
    return any(re.search(IMAGE_TOKEN_FIELD, key) for key, _ in config_fields(config))


def random_images(vision: Any, rows: int, generator: torch.Generator) -> torch.Tensor:
    """One random image per row, in the geometry the vision config implies."""
    import torch

    channels = getattr(vision, "num_channels", 3)
    return torch.randn((rows, channels, vision.image_size, vision.image_size), generator=generator)


def auto_causal_lm(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:

    batch = _inputs.causal_batch(ordinary_tokens(spec, config, generator), spec)
    vision = getattr(config, "vision_config", None)
    if vision is not None and not names_image_token(config):
        # A vision tower with no placeholder token (GIT): the model prepends the image to the text
        # itself and its loss skips the image's positions whether or not an image came, so a
        # text-only batch is no batch for it; one image per row, as its captioning data has.
        batch["pixel_values"] = random_images(vision, batch["input_ids"].shape[0], generator)
    return batch


def auto_classification(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    ids = ordinary_tokens(spec, config, generator)
    return _inputs.classification_batch(ids, spec, config, generator, per_token=False)


def auto_token_classification(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    ids = ordinary_tokens(spec, config, generator)
    return _inputs.classification_batch(ids, spec, config, generator, per_token=True)


def auto_seq2seq(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    import torch

    ids = ordinary_tokens(spec, config, generator)
    target = ordinary_tokens(spec, config, generator)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    batch["decoder_input_ids"] = shift_right(target, decoder_start(config))
    if spec.labels:
        batch["labels"] = target
    return batch


def speech_input(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Audio in the layout the config implies: log-mel frames (Whisper-like, Speech2Text-like) or a waveform."""
    import torch

    rows = spec.batch_size
    mel_bins = getattr(config, "num_mel_bins", None)
    if isinstance(mel_bins, int) and isinstance(getattr(config, "max_source_positions", None), int):
        # the encoder's second convolution halves the frames, and it insists on exactly this length
        frames = 2 * config.max_source_positions
        return {"input_features": torch.randn(rows, mel_bins, frames, generator=generator)}
    features = getattr(config, "input_feat_per_channel", None) or getattr(config, "input_feat_size", None)
    if isinstance(features, int):
        channels = getattr(config, "input_channels", 1) or 1
        frames = 8 * spec.seq_len  # the convolutional subsampler divides by 4
        return {"input_features": torch.randn(rows, frames, features * channels, generator=generator)}
    return {"input_values": torch.randn(rows, AUDIO_SAMPLES, generator=generator)}


def auto_speech_seq2seq(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    encoder = getattr(config, "encoder", None) or config
    batch = speech_input(spec, encoder, generator)
    decoder = getattr(config, "decoder", None) or config
    target = ordinary_tokens(spec, decoder, generator)
    batch["decoder_input_ids"] = shift_right(target, decoder_start(config))
    if spec.labels:
        batch["labels"] = target
    return batch


def image_placeholders(config: Any) -> int:
    """How many placeholder tokens one image becomes, from the fields configs use for it."""
    for key in ("image_seq_length", "mm_tokens_per_image", "num_image_tokens", "image_seq_len"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    vision = getattr(config, "vision_config", None) or config
    patches = (vision.image_size // vision.patch_size) ** 2
    return patches + (getattr(config, "vision_feature_select_strategy", "default") == "full")


def auto_image_text(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One image per row, its placeholders first, then text (a best effort from the config's fields)."""
    import torch

    image_token = getattr(config, "image_token_id", None)
    if not isinstance(image_token, int):
        image_token = config.image_token_index
    text = ordinary_tokens(spec, config, generator)
    placeholders = torch.full((text.shape[0], image_placeholders(config)), image_token)
    ids = torch.cat([placeholders, text], dim=1)
    vision = getattr(config, "vision_config", None) or config
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "pixel_values": random_images(vision, ids.shape[0], generator),
    }
    if spec.labels:
        labels = ids.clone()
        labels[ids == image_token] = -100
        batch["labels"] = labels
    return batch
