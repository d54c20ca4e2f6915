from harness.families._base import TINY_VOCABULARY, decoder_family

FAMILY = decoder_family(
    "gpt2",
    "GPT2Config",
    "GPT2",
    # GPT-2's own parameter names; n_inner None would mean 4 * n_embd.
    {
        **TINY_VOCABULARY,
        "n_embd": 64,
        "n_inner": 128,
        "n_layer": 2,
        "n_head": 4,
        "n_positions": 64,
        # GPT-2's one <|endoftext|> id (50256, the last of its vocabulary) is both bos and eos.
        "bos_token_id": 2,
        "eos_token_id": 2,
    },
    # Conv1D layers: c_attn is the fused qkv projection, and c_proj exists in both attention
    # and MLP, so the MLP one is named with its parent.
    attention=["c_attn"],
    mlp=["c_fc", "mlp.c_proj"],
    # GPT-2's causal LM head class predates the *ForCausalLM naming.
    causal_lm_class="GPT2LMHeadModel",
    deliberate={
        "bos_token_id": "the default 50256 lies beyond the tiny vocabulary; 2, shared with eos as in GPT-2",
        "eos_token_id": "the default 50256 lies beyond the tiny vocabulary; 2, shared with bos as in GPT-2",
    },
    explore_rank=5,
)
