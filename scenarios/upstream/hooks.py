"""Custom training steps for upstream scenarios the declarative fields cannot express."""

import torch

# The global steps at which peft/issues/2337's reproducer calls AdaLoRA's rank allocator: the
# last one, total_step - tfinal = 13500 - 11000, is where its kthvalue() failed.
ADALORA_STEPS = (0, 1000, 2500)


def adalora_update_and_allocate(model, batch, context):
    """AdaLoRA's documented loop: step, then update_and_allocate(global_step), then zero_grad."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=1e-3)
    model.train()
    for global_step in ADALORA_STEPS:
        context.enter_phase("forward")
        loss = model(**batch).loss
        context.enter_phase("backward")
        loss.backward()
        context.enter_phase("step")
        optimizer.step()
        model.base_model.update_and_allocate(global_step)
        optimizer.zero_grad(set_to_none=True)
