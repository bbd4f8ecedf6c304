"""``SGD`` with momentum, dampening, Nesterov and weight decay — torch.optim.SGD's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, step for step as ``torch.optim.SGD``.

    d = g + λp;  b ← d (first step) or μb + (1 − τ)d;  d ← d + μb (Nesterov) or b;  p ← p − η d.
    """

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "nesterov": nesterov, "weight_decay": weight_decay})

    def _check_group(self, group: dict[str, Any]) -> None:
        if not group["lr"] >= 0:
            raise ValueError(f"SGD: invalid learning rate {group['lr']}")
        if not group["momentum"] >= 0:
            raise ValueError(f"SGD: invalid momentum {group['momentum']}")
        if not group["weight_decay"] >= 0:
            raise ValueError(f"SGD: invalid weight_decay {group['weight_decay']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")

    def step(self) -> None:
        """Update every parameter that has a gradient, in place on ``p.data``."""
        self._record_step()
        for group in self.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            nesterov, wd = group["nesterov"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad.data
                if wd != 0:
                    d = d + wd * p.data
                if mom != 0:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = np.array(d, copy=True)
                        state["momentum_buffer"] = buf
                    else:
                        buf *= mom
                        buf += (1 - damp) * d if damp != 0 else d
                    d = d + mom * buf if nesterov else buf
                p.data += -lr * d
