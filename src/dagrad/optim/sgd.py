"""``SGD`` with momentum, dampening, Nesterov and weight decay — torch.optim.SGD's update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer

__all__ = ["SGD"]

_ND = np.ndarray


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

    def _update(self) -> None:
        for group in self.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            nesterov, wd = group["nesterov"], group["weight_decay"]
            if mom == 0 and wd == 0:
                self._plain(group["params"], -lr)
                continue
            for p in group["params"]:
                if p.grad is None:
                    continue
                d, w = p.grad.data, p.data
                t1, t2 = self._scratch(p, 2)
                if wd != 0:                                  # d + λp
                    np.multiply(w, wd, out=t1)
                    np.add(d, t1, out=t1)
                    d = t1
                if mom != 0:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = np.array(d, copy=True)
                        state["momentum_buffer"] = buf
                    else:
                        buf *= mom
                        if damp != 0:                        # b ← μb + (1 − τ)d
                            np.multiply(d, 1 - damp, out=t2)
                            buf += t2
                        else:
                            buf += d
                    if nesterov:                             # d + μb
                        np.multiply(buf, mom, out=t2)
                        np.add(d, t2, out=t2)
                        d = t2
                    else:
                        d = buf
                tmp = t2 if d is t1 else t1
                np.multiply(d, -lr, out=tmp)                 # p += (−η)d
                np.add(w, tmp, out=w)

    def _plain(self, params: list[Any], neg_lr: float) -> None:
        """p ← p + (−η)g for each parameter with a gradient (torch's p − ηg, the same bits).

        (−η)g goes to a fresh temporary: the allocator hands back memory the backward pass
        just freed, still in cache.  (Blocks of 32,768 elements through one shared scratch
        cost a call pair per block and ran 1–6% slower per MLP step on an AMD EPYC, at batch
        32, 128 and 512, 1 and 2 BLAS threads; a persistent scratch as large as the parameter
        is cold again by the next step.)"""
        for p in params:
            g = p.grad
            if g is None:
                continue
            w, gd = p._d, g._d  # the held arrays (.data turns a held number into one)
            if type(w) is not _ND:
                w = p.data
            if type(gd) is not _ND:
                gd = g.data
            # (a .grad of another dtype — p.data was replaced since — adds in the wider
            # dtype and rounds the sum into p, as torch's p.add_(g, alpha=−η))
            np.add(w, np.multiply(gd, neg_lr), out=w)
