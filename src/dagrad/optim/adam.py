"""``Adam`` (with L2 weight decay) — torch.optim.Adam's update, same formulas in the same order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import BLOCK, Optimizer

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
                w = p.data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(w)
                    state["exp_avg_sq"] = np.zeros_like(w)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                step = state["step"]
                consts = (wd, 1 - beta1, beta2, 1 - beta2, (1 - beta2**step)**0.5, eps,
                          -(lr / (1 - beta1**step)))
                arrays = (w, g, m, v)
                if all(a.flags.c_contiguous for a in arrays) and g.shape == w.shape:
                    # elementwise, so block by block gives the same bits with every operand
                    # in cache (a whole 784×256 layer's twelve passes run from L3: ~3× slower)
                    flat = [a.reshape(-1) for a in arrays]
                    n = w.size
                    scratch = self._block_scratch(w.dtype, 3)
                    for i in range(0, n, BLOCK):
                        j = min(i + BLOCK, n)
                        _adam_block(*[a[i:j] for a in flat], *[t[:j - i] for t in scratch],
                                    *consts)
                else:
                    _adam_block(w, g, m, v, *self._scratch(p, 3), *consts)


def _adam_block(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t1: np.ndarray,
                t2: np.ndarray, t3: np.ndarray, wd: float, w1: float, beta2: float, w2: float,
                sqrt_bc2: float, eps: float, neg_step: float) -> None:
    """Adam's update of the elements w (in place, with m and v), in torch's order of operations:
    g ← g + λw;  m ← lerp(m, g, 1 − β₁);  v ← β₂v + (1 − β₂)g²;  w ← w + (−η/(1 − β₁ᵗ)) m /
    (√v / √(1 − β₂ᵗ) + ε)."""
    g = Optimizer._decayed(g, w, wd, t3)      # g + λp
    Optimizer._lerp(m, g, w1, t1)               # exp_avg.lerp_(g, 1 − β₁)
    v *= beta2                                  # exp_avg_sq.mul_(β₂)
    np.multiply(g, w2, out=t1)                  #   .addcmul_(g, g, value=1 − β₂)
    t1 *= g
    v += t1
    np.sqrt(v, out=t2)                          # denom = √v / √(1 − β₂ᵗ) + ε
    t2 /= sqrt_bc2
    t2 += eps
    np.multiply(m, neg_step, out=t1)            # p.addcdiv_(m, denom, value=−step_size)
    t1 /= t2
    w += t1
