"""Training steps for silent scenarios that the declarative fields cannot express."""

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
