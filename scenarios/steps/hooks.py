"""Custom steps for scenarios the declarative fields cannot express."""

import torch


def autograd_grad_step(model, batch, context):
    """Gradients through torch.autograd.grad, as functional training loops and some trainers do."""
    context.enter_phase("forward")
    loss = model(**batch).loss
    context.enter_phase("backward")
    trainable = [p for p in model.parameters() if p.requires_grad]
    for parameter, grad in zip(trainable, torch.autograd.grad(loss, trainable), strict=True):
        parameter.grad = grad
    context.enter_phase("step")
    torch.optim.SGD(trainable, lr=1e-3).step()
