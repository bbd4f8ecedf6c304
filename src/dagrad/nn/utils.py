"""``dg.nn.utils``: gradient clipping with PyTorch's names, ``clip_grad_norm_`` and
``clip_grad_value_``.

Both compute with table ops under ``no_grad`` and assign each ``p.grad`` anew, so a
``dg.compile``d training step replays the clipping with each step's gradients.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .. import ops
from ..tensor import Tensor, no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _params(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    items = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensors (parameters), got {type(p).__name__}")
    return items


def _vector_norm(x: Tensor, p: float) -> Tensor:
    """‖x‖_p of all entries: max|x| (p = ∞), count of non-zeros (p = 0), (Σ|x|^p)^(1/p)."""
    if p == math.inf:
        return ops.abs(x).max()
    if p == -math.inf:
        return ops.abs(x).min()
    if p == 0:
        return (x != 0).astype(x.dtype).sum()
    if p == 2:
        return ops.sqrt((x * x).sum())
    if p == 1:
        return ops.abs(x).sum()
    return (ops.abs(x) ** p).sum() ** (1.0 / p)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """‖(‖t_1‖_p, …, ‖t_k‖_p)‖_p: the p-norm of all entries together, as PyTorch computes it."""
    ts = _params(tensors)
    p = float(norm_type)
    if not ts:
        return Tensor(np.zeros((), np.float32))
    with no_grad():
        norms = [_vector_norm(t, p) for t in ts]
        total = _vector_norm(ops.stack(norms), p)
    if error_if_nonfinite and not np.isfinite(total.data):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return total


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """g ← g · min(1, max_norm / (‖g‖_p + 10⁻⁶)) for every gradient, ‖g‖_p over all of them
    together; returns that total norm (before clipping), as ``torch.nn.utils``."""
    params = [p for p in _params(parameters) if p.grad is not None]
    if not params:
        return Tensor(np.zeros((), np.float32))
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    with no_grad():
        coef = ops.clamp(float(max_norm) / (total + 1e-6), max=1.0)
        for p in params:
            g = p.grad
            p.grad = g * coef.astype(g.dtype) if coef.dtype != g.dtype else g * coef
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """g ← clamp(g, −c, c) for every gradient, as ``torch.nn.utils.clip_grad_value_``."""
    c = float(clip_value)
    with no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad = ops.clamp(p.grad, -c, c)
