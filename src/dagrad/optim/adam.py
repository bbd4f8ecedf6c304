"""``Adam`` (with L2 weight decay) — torch.optim.Adam's update, same formulas in the same order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam, step for step as ``torch.optim.Adam`` (amsgrad off).

    g ← g + λp;  m ← m + (1 − β₁)(g − m);  v ← β₂v + (1 − β₂)g²;
    p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    def _l2(self, group: dict[str, Any]) -> float:
        """The L2 coefficient λ added to the gradient (g + λp); AdamW decays p instead."""
        return group["weight_decay"]

    def _check_group(self, group: dict[str, Any]) -> None:
        b1, b2 = group["betas"]
        if not group["lr"] >= 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']}")
        if not group["eps"] >= 0:
            raise ValueError(f"{type(self).__name__}: invalid eps {group['eps']}")
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"{type(self).__name__}: betas must lie in [0, 1), got "
                             f"{group['betas']}")
        if not group["weight_decay"] >= 0:
            raise ValueError(f"{type(self).__name__}: invalid weight_decay "
                             f"{group['weight_decay']}")

    def _update(self) -> None:
        for group in self.param_groups:
            lr, eps, wd = group["lr"], group["eps"], self._l2(group)
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p.data)
                    state["exp_avg_sq"] = np.zeros_like(p.data)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                t1, t2, t3 = self._scratch(p, 3)
                state["step"] += 1
                step = state["step"]
                g = self._decayed(g, p, wd, t3)         # g + λp
                self._lerp(m, g, 1 - beta1, t1)         # exp_avg.lerp_(g, 1 − β₁)
                v *= beta2                              # exp_avg_sq.mul_(β₂)
                np.multiply(g, 1 - beta2, out=t1)       #   .addcmul_(g, g, value=1 − β₂)
                t1 *= g
                v += t1
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                step_size = lr / bias_correction1
                np.sqrt(v, out=t2)                      # denom = √v / √(1 − β₂ᵗ) + ε
                t2 /= bias_correction2**0.5
                t2 += eps
                np.multiply(m, -step_size, out=t1)      # p.addcdiv_(m, denom, value=−step_size)
                t1 /= t2
                p.data += t1
