"""``AdamW``: Adam with decoupled weight decay — torch.optim.AdamW's update, in its order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """AdamW, step for step as ``torch.optim.AdamW`` (amsgrad off; PyTorch's defaults).

    p ← p (1 − ηλ);  then Adam's step on the plain gradient g (no λp added to it).
    """

    _implied = {"decoupled_weight_decay": True}

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _l2(self, group: dict[str, Any]) -> float:
        return 0.0

    def _update(self) -> None:
        for group in self.param_groups:
            decay = 1 - group["lr"] * group["weight_decay"]
            if decay != 1:
                for p in group["params"]:
                    if p.grad is not None:
                        p.data *= decay                 # param.mul_(1 − lr·λ)
        super()._update()
