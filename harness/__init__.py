"""ft-harness: reproducible facts about fine-tuning stacks (PEFT x quantization x checkpointing)."""

__version__ = "0.1.0"
