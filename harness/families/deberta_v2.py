from harness.families import _inputs
from harness.families._base import ENCODER_CLASSIFIER_GROUPS, Family, Task

ATTENTION = ["query_proj", "value_proj"]
MLP = ["intermediate.dense", "output.dense"]  # `output.dense` as in peft's own IA3 defaults

FAMILY = Family(
    name="deberta-v2",
    config_class="DebertaV2Config",
    # DeBERTa-v3's layout: disentangled relative attention (c2p and p2c, shared keys, log
    # buckets) and no absolute positions; the config's defaults would be a plain BERT.
    tiny={
        "vocab_size": 128,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 64,
        "relative_attention": True,
        "pos_att_type": ["p2c", "c2p"],
        "position_buckets": 16,
        "max_relative_positions": -1,
        "share_att_key": True,
        "norm_rel_ebd": "layer_norm",
        "position_biased_input": False,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
    },
    tasks={
        "seq-cls": Task("DebertaV2ForSequenceClassification", _inputs.classification, "SEQ_CLS"),
        "token-cls": Task("DebertaV2ForTokenClassification", _inputs.token_classification, "TOKEN_CLS"),
    },
    targets={"attention": ATTENTION, "mlp": MLP, "all": [*ATTENTION, *MLP]},
    feedforward=["output.dense"],
    groups=ENCODER_CLASSIFIER_GROUPS,
)
