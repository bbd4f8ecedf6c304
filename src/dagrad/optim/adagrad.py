"""``Adagrad`` (with lr decay) — torch.optim.Adagrad's update, in its order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, step for step as ``torch.optim.Adagrad``.

    g ← g + λp;  η_t = η / (1 + (t − 1)·lr_decay);  s ← s + g²;  p ← p − η_t g / (√s + ε),
    with s starting at ``initial_accumulator_value``.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps})
        for group in self.param_groups:          # as torch: state made with the optimizer
            for p in group["params"]:
                self._init_state(p, group)

    def _check_group(self, group: dict[str, Any]) -> None:
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            if not group[key] >= 0:
                raise ValueError(f"Adagrad: invalid {key} {group[key]} (must be >= 0)")

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state.setdefault(p, {})
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
        return state

    def _update(self) -> None:
        for group in self.param_groups:
            lr, lr_decay, wd, eps = (group["lr"], group["lr_decay"], group["weight_decay"],
                                     group["eps"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                state = self._init_state(p, group)
                t1, t2, t3 = self._scratch(p, 3)
                state["step"] += 1
                g = self._decayed(g, p.data, wd, t3)              # g + λp
                clr = lr / (1 + (state["step"] - 1) * lr_decay)
                s = state["sum"]
                np.multiply(g, g, out=t1)                    # s.addcmul_(g, g, value=1)
                s += t1
                np.sqrt(s, out=t1)                           # std = √s + ε
                t1 += eps
                np.multiply(g, -clr, out=t2)                 # p.addcdiv_(g, std, value=−η_t)
                t2 /= t1
                p.data += t2
