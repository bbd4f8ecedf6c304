"""Fused in-place optimizer steps for the replay: SGD and Adam without a temporary per call.

Each kernel runs the same arithmetic as the eager ``step()`` (``dagrad.optim``, itself step for
step ``torch.optim``), in the same order, writing into scratch arrays made once per parameter
shape, so the numbers are identical.  Hyperparameters — the learning rate above all, which
schedules change — and the per-parameter state (momentum buffers, Adam moments, step counts)
are read from the optimizer at every call, so eager and compiled steps can be mixed freely and
checkpoints see the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["kernel_for", "sgd_kernel", "adam_kernel"]

_add, _mul, _sub, _div, _sqrt = np.add, np.multiply, np.subtract, np.divide, np.sqrt


class _Scratch:
    """k work arrays per (shape, dtype), reused by every parameter of that shape."""

    def __init__(self, k: int):
        self.k = k
        self.arrays: dict[tuple, tuple[np.ndarray, ...]] = {}

    def __call__(self, like: np.ndarray) -> tuple[np.ndarray, ...]:
        key = (like.shape, like.dtype)
        got = self.arrays.get(key)
        if got is None:
            got = self.arrays[key] = tuple(np.empty_like(like) for _ in range(self.k))
        return got


def sgd_kernel(opt: Any) -> Callable[[], None]:
    """SGD: d = g + λp; b ← μb + (1 − τ)d (b = d at first); d = d + μb or b; p ← p − η d."""
    scratch = _Scratch(2)

    def step() -> None:
        for group in opt.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            nesterov, wd = group["nesterov"], group["weight_decay"]
            for p in group["params"]:
                gt = p.grad
                if gt is None:
                    continue
                d, w = gt.data, p.data
                t1, t2 = scratch(w)
                if wd != 0:                                  # d + wd·p
                    _mul(w, wd, out=t1)
                    _add(d, t1, out=t1)
                    d = t1
                if mom != 0:
                    state = opt.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = np.array(d, copy=True)
                        state["momentum_buffer"] = buf
                    else:
                        buf *= mom
                        if damp != 0:
                            _mul(d, 1 - damp, out=t2)
                            buf += t2
                        else:
                            buf += d
                    if nesterov:                             # d + μ·b
                        _mul(buf, mom, out=t2)
                        _add(d, t2, out=t2)
                        d = t2
                    else:
                        d = buf
                tmp = t2 if d is t1 else t1
                _mul(d, -lr, out=tmp)                        # p += (−η)·d
                _add(w, tmp, out=w)

    return step


def adam_kernel(opt: Any) -> Callable[[], None]:
    """Adam as torch: m ← m + (1−β₁)(g − m); v ← β₂v + (1−β₂)g²; p ← p − η̂ m / (√v̂ + ε)."""
    scratch = _Scratch(3)

    def step() -> None:
        for group in opt.param_groups:
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                gt = p.grad
                if gt is None:
                    continue
                g, w = gt.data, p.data
                state = opt.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(w)
                    state["exp_avg_sq"] = np.zeros_like(w)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                t1, t2, t3 = scratch(w)
                state["step"] += 1
                step_t = state["step"]
                if wd != 0:                                  # g + wd·p
                    _mul(w, wd, out=t3)
                    _add(g, t3, out=t3)
                    g = t3
                c = 1 - beta1                                # exp_avg.lerp_(g, 1 − β₁)
                _sub(g, m, out=t1)
                if abs(c) < 0.5:
                    t1 *= c
                    m += t1
                else:
                    t1 *= 1 - c
                    _sub(g, t1, out=m)
                v *= beta2                                   # v ← β₂v + (1 − β₂)g·g
                _mul(g, 1 - beta2, out=t1)
                t1 *= g
                v += t1
                step_size = lr / (1 - beta1**step_t)
                _sqrt(v, out=t2)                             # √v / √(1 − β₂ᵗ) + ε
                t2 /= (1 - beta2**step_t) ** 0.5
                t2 += eps
                _mul(m, -step_size, out=t1)
                t1 /= t2
                w += t1

    return step


def kernel_for(opt: Any) -> Callable[[], None] | None:
    """The fused kernel for an optimizer of exactly a known type, else None (replay calls
    ``opt.step()`` itself)."""
    from ..optim import SGD, Adam

    if type(opt) is SGD:
        return sgd_kernel(opt)
    if type(opt) is Adam:
        return adam_kernel(opt)
    return None
