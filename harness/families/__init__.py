"""Model families: how to build a tiny model of each architecture from its config class."""

from harness.registry import Registry

FAMILIES: Registry = Registry(
    "model family",
    {
        # decoder-only language models
        "llama": "harness.families.llama:FAMILY",
        "mistral": "harness.families.mistral:FAMILY",
        "qwen2": "harness.families.qwen2:FAMILY",
        "gemma": "harness.families.gemma:FAMILY",
        "phi": "harness.families.phi:FAMILY",
        "gpt2": "harness.families.gpt2:FAMILY",
        "gpt_neox": "harness.families.gpt_neox:FAMILY",
        "opt": "harness.families.opt:FAMILY",
        "bloom": "harness.families.bloom:FAMILY",
        "falcon": "harness.families.falcon:FAMILY",
        # encoder-decoder
        "t5": "harness.families.t5:FAMILY",
        "bart": "harness.families.bart:FAMILY",
        "whisper": "harness.families.whisper:FAMILY",
        # encoder classifiers
        "bert": "harness.families.bert:FAMILY",
        "deberta-v2": "harness.families.deberta_v2:FAMILY",
        "deberta": "harness.families.deberta:FAMILY",
        # vision-language
        "llava": "harness.families.llava:FAMILY",
        "qwen2_vl": "harness.families.qwen2_vl:FAMILY",
        # any architecture of the installed transformers, named by model.architecture
        "auto": "harness.families.auto:FAMILY",
    },
)
