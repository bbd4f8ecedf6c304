"""Reductions: sum, mean, max over axes (NumPy's ``axis``/``keepdims``; ``dim``/``keepdim`` too).

Axes are stored negative, so the same rule works when cotangents carry leading batch axes.
``max`` splits the gradient evenly between tied maxima (as ``torch.amax``).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..tensor import Tensor
from . import rulemath as rm
from .base import Op, Template, apply, as_input


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Axes as a sorted tuple of negative ints; None means all; checks bounds and repeats."""
    if axis is None:
        return tuple(range(-ndim, 0))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {ax} is out of range for a tensor of rank {ndim}")
        out.append(int(ax) - ndim if ax >= 0 else int(ax))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def _count(shape: tuple[int, ...], axis: tuple[int, ...]) -> int:
    n = 1
    for ax in axis:
        n *= shape[ax]
    return n


def _sum_grad(g, a, out, axis, keepdims):
    return rm.expand_reduced(g, rm.const(a).shape, axis, keepdims)


def _mean_grad(g, a, out, axis, keepdims):
    shape = rm.const(a).shape
    return rm.expand_reduced(g, shape, axis, keepdims) * (1.0 / _count(shape, axis))


def _max_share(a, out, axis, keepdims):
    """1/k at each of the k tied maxima along ``axis``, 0 elsewhere (a constant)."""
    av = rm.const(a)
    ov = rm.const(out) if keepdims else np.expand_dims(rm.const(out), axis)
    hit = (av == ov).astype(av.dtype)
    return hit / hit.sum(axis=axis, keepdims=True)


Sum = Op(
    "sum", lambda a, axis, keepdims: np.sum(a, axis=axis, keepdims=keepdims), symbol="Σ",
    vjp=(_sum_grad,),
    jvp=(lambda t, a, out, axis, keepdims: rm.sum(t, axis, keepdims),),
    formula=(Template("1ᵀ (ones)", r"\mathbf{1}^\top"),),
    doc="sum over axes")

Mean = Op(
    "mean", lambda a, axis, keepdims: np.mean(a, axis=axis, keepdims=keepdims), symbol="mean",
    vjp=(_mean_grad,),
    jvp=(lambda t, a, out, axis, keepdims: rm.sum(t, axis, keepdims)
         * (1.0 / _count(rm.const(a).shape, axis)),),
    formula=(Template("1ᵀ/n", r"\tfrac{1}{n}\mathbf{1}^\top"),),
    doc="mean over axes")

Max = Op(
    "max", lambda a, axis, keepdims: np.max(a, axis=axis, keepdims=keepdims), symbol="max",
    vjp=(lambda g, a, out, axis, keepdims:
         rm.expand_reduced(g, rm.const(a).shape, axis, keepdims) * _max_share(a, out, axis,
                                                                                 keepdims),),
    jvp=(lambda t, a, out, axis, keepdims:
         rm.sum(t * _max_share(a, out, axis, keepdims), axis, keepdims),),
    formula=(Template("e_argmax(ᵀ) (ties share)", r"e_{\arg\max}^\top"),),
    doc="max over axes; ties split the gradient evenly (as torch.amax)")


def _reduce(op: Op, a: Any, axis: Any, keepdims: bool, dim: Any, keepdim: Any) -> Tensor:
    a = as_input(a)
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    axes = normalize_axis(axis, a.ndim, op.name)
    if op is Max and a.size == 0:
        raise ValueError("max: empty tensor has no maximum")
    return apply(op, (a,), {"axis": axes, "keepdims": bool(keepdims)})


def sum(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: Any = None) -> Tensor:
    """Σ of a over ``axis`` (all axes by default)."""
    return _reduce(Sum, a, axis, keepdims, dim, keepdim)


def mean(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
         keepdim: Any = None) -> Tensor:
    """Arithmetic mean over ``axis``."""
    return _reduce(Mean, a, axis, keepdims, dim, keepdim)


def max(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: Any = None) -> Tensor:
    """Maximum over ``axis`` (values only; ties share the gradient)."""
    return _reduce(Max, a, axis, keepdims, dim, keepdim)
