"""Gradients under sharding: what each rank's shard of every trainable parameter received.

FSDP replaces the parameters the gradient probe's tensor hooks sit on, so those hooks never fire.
This probe reads instead, at the first optimizer step (a global step pre-hook: nothing is called
on the model), the ``.grad`` each trainable parameter holds on this rank: FSDP1 (use_orig_params)
keeps the original parameters with views of the rank's shard, FSDP2 holds DTensors whose local
shard is read without a collective. A rank may own no element of a small parameter: one rank's
silence proves nothing, so the ranks' reports are merged (harness/distributed/launch.py): a
parameter got a gradient if any rank's shard of it did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# wrapper modules insert these into parameter names; the parameter is the same
WRAPPER_PREFIXES = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "module.")


def plain_name(name: str) -> str:
    for prefix in WRAPPER_PREFIXES:
        name = name.replace(prefix, "")
    return name


class ShardGradientProbe:
    def __init__(self, model: Any, trainable_names: list[str], in_first_step: Callable[[], bool]):
        import torch.optim.optimizer as optimizer_module

        self.model = model
        self.names = [plain_name(name) for name in trainable_names]
        self.in_first_step = in_first_step
        self.seen: dict[str, dict[str, Any]] | None = None
        register = getattr(optimizer_module, "register_optimizer_step_pre_hook", None)
        self.handle = register(self._before_step) if register is not None else None

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self.seen is not None or not self.in_first_step():
            return
        seen: dict[str, dict[str, Any]] = {}
        for wrapped_name, parameter in self.model.named_parameters():
            name = plain_name(wrapped_name)
            if name not in self.names:
                continue
            grad = parameter.grad
            if grad is not None and hasattr(grad, "to_local"):  # a DTensor: this rank's shard only
                grad = grad.to_local()
            if grad is None or grad.numel() == 0:
                seen[name] = {"elements": 0, "nonzero": False, "finite": True}
                continue
            values = grad.detach().float()
            seen[name] = {
                "elements": int(values.numel()),
                "nonzero": bool((values != 0).any().item()),
                "finite": bool(values.isfinite().all().item()),
            }
        self.seen = seen

    def summary(self) -> dict[str, Any]:
        """This rank's view: per trainable parameter, the elements of its shard here and what they got."""
        return {"stepped": self.seen is not None, "parameters": self.seen or {}}

    def close(self) -> None:
        if self.handle is not None:
            self.handle.remove()


def merged_gradients(
    reports: list[dict[str, Any]], group_of: Callable[[str], str], mode: str = "all"
) -> dict[str, Any] | None:
    """The gradients check over every rank's shard report (None: no rank reached its first step)."""
    stepped = [r for r in reports if r.get("stepped")]
    if not stepped:
        return None
    names = sorted({name for report in stepped for name in report["parameters"]})
    groups: dict[str, dict[str, int]] = {}
    nonfinite = 0
    for name in names:
        shards = [report["parameters"].get(name) or {} for report in stepped]
        group = groups.setdefault(group_of(name), {"trainable": 0, "with_grad": 0, "nonzero_grad": 0})
        group["trainable"] += 1
        if any(shard.get("elements") for shard in shards):
            group["with_grad"] += 1
            group["nonzero_grad"] += any(shard.get("nonzero") for shard in shards)
        nonfinite += any(shard.get("finite") is False for shard in shards)
    failures = []
    if mode == "any":  # a method that relaxes the check by design: some gradient somewhere
        if not any(group["nonzero_grad"] for group in groups.values()):
            failures.append("no-grad (no parameter)")
        groups_to_check: dict[str, dict[str, int]] = {}
    else:
        groups_to_check = groups
    for name, group in sorted(groups_to_check.items()):
        if group["with_grad"] < group["trainable"]:
            failures.append(f"no-grad:{name} ({group['trainable'] - group['with_grad']} of {group['trainable']})")
        elif group["nonzero_grad"] < group["with_grad"]:
            failures.append(f"zero-grad:{name} ({group['with_grad'] - group['nonzero_grad']} of {group['trainable']})")
    detail = "; ".join(failures) or f"every group got gradients (merged over {len(stepped)} ranks' shards)"
    return {"passed": not failures, "detail": detail, "groups": groups, "nonfinite_shards": nonfinite}
