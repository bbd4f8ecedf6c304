"""``RMSprop`` (centered, with momentum) — torch.optim.RMSprop's update, in its order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, step for step as ``torch.optim.RMSprop``.

    g ← g + λp;  v ← αv + (1 − α)g²;  centered: ḡ ← ḡ + (1 − α)(g − ḡ), a = √(v − ḡ²) + ε,
    else a = √v + ε;  momentum μ > 0: b ← μb + g / a, p ← p − ηb;  else p ← p − η g / a.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered})

    def _check_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            if not group[key] >= 0:
                raise ValueError(f"RMSprop: invalid {key} {group[key]} (must be >= 0)")

    def _update(self) -> None:
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, mom, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(p.data)
                    if mom > 0:
                        state["momentum_buffer"] = np.zeros_like(p.data)
                    if centered:
                        state["grad_avg"] = np.zeros_like(p.data)
                t1, t2, t3 = self._scratch(p, 3)
                state["step"] += 1
                g = self._decayed(g, p.data, wd, t3)              # g + λp
                v = state["square_avg"]
                v *= alpha                                   # v.mul_(α).addcmul_(g, g, 1 − α)
                np.multiply(g, 1 - alpha, out=t1)
                t1 *= g
                v += t1
                if centered:
                    ga = state.setdefault("grad_avg", np.zeros_like(p.data))
                    self._lerp(ga, g, 1 - alpha, t1)         # ḡ.lerp_(g, 1 − α)
                    np.multiply(ga, -1.0, out=t2)            # v.addcmul(ḡ, ḡ, value=−1).sqrt_()
                    t2 *= ga
                    t2 += v
                    np.sqrt(t2, out=t2)
                else:
                    np.sqrt(v, out=t2)
                t2 += eps
                if mom > 0:
                    buf = state.setdefault("momentum_buffer", np.zeros_like(p.data))
                    buf *= mom                               # b.mul_(μ).addcdiv_(g, a)
                    np.divide(g, t2, out=t1)
                    buf += t1
                    np.multiply(buf, -lr, out=t1)            # p.add_(b, alpha=−η)
                else:
                    np.multiply(g, -lr, out=t1)              # p.addcdiv_(g, a, value=−η)
                    t1 /= t2
                p.data += t1
