from harness.families import _inputs
from harness.families._base import ENCODER_CLASSIFIER_GROUPS, Family, Task

ATTENTION = ["query", "value"]
# `output.dense` also matches the attention output projection; peft's own IA3 defaults use
# the same suffix, so "mlp" here means what users get from peft.
MLP = ["intermediate.dense", "output.dense"]

FAMILY = Family(
    name="bert",
    config_class="BertConfig",
    tiny={
        "vocab_size": 128,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 64,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
    },
    tasks={
        "seq-cls": Task("BertForSequenceClassification", _inputs.classification, "SEQ_CLS"),
        "token-cls": Task("BertForTokenClassification", _inputs.token_classification, "TOKEN_CLS"),
    },
    targets={"attention": ATTENTION, "mlp": MLP, "all": [*ATTENTION, *MLP]},
    feedforward=["output.dense"],
    groups=ENCODER_CLASSIFIER_GROUPS,
)
