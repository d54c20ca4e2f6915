"""Whisper: a speech encoder fed synthetic log-mel features, and a text decoder trained on labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.families import _inputs
from harness.families._base import TINY_VOCABULARY, Family, Task

if TYPE_CHECKING:
    import torch

    from harness.dsl.schema import InputsSpec

ATTENTION = ["q_proj", "v_proj"]
MLP = ["fc1", "fc2"]


def speech_seq2seq(spec: InputsSpec, config: Any, generator: torch.Generator) -> dict[str, torch.Tensor]:
    import torch

    ids = _inputs.token_ids(spec, config, generator)
    # The encoder's second convolution halves the frames, and it insists on exactly this length.
    frames = 2 * config.max_source_positions
    batch = {"input_features": torch.randn(ids.shape[0], config.num_mel_bins, frames, generator=generator)}
    if spec.labels:
        batch["labels"] = ids
    else:
        batch["decoder_input_ids"] = ids
    return batch


FAMILY = Family(
    name="whisper",
    config_class="WhisperConfig",
    tiny={
        **TINY_VOCABULARY,
        "d_model": 64,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        # 4x, as in the real models; 128 would equal the vocabulary size, and peft's prompt
        # learning takes the first parameter that many rows tall for the word embeddings.
        "encoder_ffn_dim": 256,
        "decoder_ffn_dim": 256,
        "max_source_positions": 32,  # 64 feature frames instead of 3000
        "max_target_positions": 64,
        # The defaults' ids belong to the 51865-token vocabulary: <|endoftext|> (50256) is pad,
        # bos and eos at once, <|startoftranscript|> (50257) starts decoding.
        "pad_token_id": 2,
        "bos_token_id": 2,
        "eos_token_id": 2,
        "decoder_start_token_id": 1,
        "begin_suppress_tokens": None,
    },
    tasks={
        # No peft task type, as in Hugging Face's Whisper + PEFT guide: PeftModelForSeq2SeqLM
        # forwards input_ids=None, which Whisper has no parameter for (transformers 5 passes it
        # on to the decoder beside decoder_input_ids: a TypeError).
        "speech-seq2seq": Task("WhisperForConditionalGeneration", speech_seq2seq, None, grad_input="input_features"),
    },
    targets={"attention": ATTENTION, "mlp": MLP, "all": [*ATTENTION, *MLP]},
    feedforward=["fc2"],
    deliberate={
        "pad_token_id": "the default 50256 lies beyond the tiny vocabulary; 2, shared with bos and eos as there",
        "bos_token_id": "the default 50256 lies beyond the tiny vocabulary; 2, shared with pad and eos as there",
        "eos_token_id": "the default 50256 lies beyond the tiny vocabulary; 2, shared with pad and bos as there",
        "decoder_start_token_id": "the default 50257 lies beyond the tiny vocabulary; 1, an id of its own as there",
        "begin_suppress_tokens": "the default (220, 50256) lies beyond the tiny vocabulary; generate() alone reads it",
    },
    explore_rank=15,
)
