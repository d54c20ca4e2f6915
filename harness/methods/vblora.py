"""VB-LoRA: updates composed from a shared vector bank; vector_length must divide every target's features.

Its default init is already non-identity (peft's tests leave it as is)."""

from harness.methods._base import Method

METHOD = Method(
    name="vblora",
    config_class="VBLoRAConfig",
    fixed={"vector_length": 1, "num_vectors": 2},
)
