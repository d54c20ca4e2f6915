from harness.families._base import TINY_DECODER, decoder_family

# Phi's attention output is `dense` and its MLP is fc1/fc2, not the llama names.
FAMILY = decoder_family(
    "phi",
    "PhiConfig",
    "Phi",
    TINY_DECODER,
    attention=["q_proj", "v_proj"],
    mlp=["fc1", "fc2"],
    explore_rank=4,
)
