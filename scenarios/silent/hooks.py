"""Training steps for silent scenarios that the declarative fields cannot express."""

import importlib
import tempfile

import torch


def train_after_loading_reference_adapter(model, batch, context):
    """Create the optimizer, load a saved copy of the adapter as a frozen "reference" adapter, train.

    The pattern of RLHF/distillation loops that keep a frozen reference adapter beside the one being
    trained (and of trainers that reload an adapter while saving a checkpoint): `load_adapter`
    defaults to `is_trainable=False`, which must freeze only the adapter it loads.
    """
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    with tempfile.TemporaryDirectory() as directory:
        model.save_pretrained(directory)
        model.load_adapter(directory, adapter_name="reference")
    model.train()
    for _ in range(context.scenario.steps.train_steps):
        context.enter_phase("forward")
        loss = model(**batch).loss
        context.enter_phase("backward")
        loss.backward()
        context.enter_phase("step")
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def trl_sft_trainer_on_peft_model(model, batch, context):
    """`SFTTrainer(model=peft_model, args=SFTConfig(...), train_dataset=...).train()`, no peft_config.

    The model is what users pass after their own `get_peft_model` on a quantized base. A word-level
    tokenizer over the tiny model's vocabulary stands in for the hub tokenizer (nothing is downloaded).
    """
    context.enter_phase("setup")
    importlib.import_module("trl")  # without trl, say that first (datasets comes with it)
    from datasets import Dataset
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast
    from trl import SFTConfig, SFTTrainer

    vocab = {f"t{i}": i for i in range(model.config.vocab_size)}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="t0")),
        pad_token="t0",
        eos_token="t1",
        unk_token="t0",
    )
    dataset = Dataset.from_dict({"input_ids": batch["input_ids"].tolist()})
    with tempfile.TemporaryDirectory() as directory:
        arguments = SFTConfig(
            output_dir=directory,
            max_steps=context.scenario.steps.train_steps,
            per_device_train_batch_size=len(dataset),
            learning_rate=context.scenario.steps.lr,
            report_to=[],
            save_strategy="no",
            use_cpu=context.device == "cpu",
            bf16=False,
            dataloader_pin_memory=False,
        )
        trainer = SFTTrainer(model=model, args=arguments, train_dataset=dataset, processing_class=tokenizer)
        trainer.train()
