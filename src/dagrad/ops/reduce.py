"""Reductions: sum, mean, max over axes (NumPy's ``axis``/``keepdims``; ``dim``/``keepdim`` too).

Axes are stored negative, so the same rule works when cotangents carry leading batch axes.
``max`` splits the gradient evenly between tied maxima (as ``torch.amax``).
"""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

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
    saves=(),
    vjp=(_sum_grad,),
    jvp=(lambda t, a, out, axis, keepdims: rm.sum(t, axis, keepdims),),
    formula=(Template("1ᵀ (ones)", r"\mathbf{1}^\top"),),
    doc="sum over axes")

Mean = Op(
    "mean", lambda a, axis, keepdims: np.mean(a, axis=axis, keepdims=keepdims), symbol="mean",
    saves=(),
    vjp=(_mean_grad,),
    jvp=(lambda t, a, out, axis, keepdims: rm.sum(t, axis, keepdims)
         * (1.0 / _count(rm.const(a).shape, axis)),),
    formula=(Template("1ᵀ/n", r"\tfrac{1}{n}\mathbf{1}^\top"),),
    doc="mean over axes")

def _share_grad(g, a, out, axis, keepdims):
    """g spread back over a's shape, to the tied extremes along ``axis`` only."""
    return rm.expand_reduced(g, rm.const(a).shape, axis, keepdims) * _max_share(a, out, axis,
                                                                                keepdims)


def _share_tangent(t, a, out, axis, keepdims):
    return rm.sum(t * _max_share(a, out, axis, keepdims), axis, keepdims)


# max and min over axes: the same rules (the extremes, found by equality with the result)
Max = Op(
    "max", lambda a, axis, keepdims: np.max(a, axis=axis, keepdims=keepdims), symbol="max",
    saves=("a", "out"), vjp=(_share_grad,), jvp=(_share_tangent,),
    formula=(Template("e_argmax(ᵀ) (ties share)", r"e_{\arg\max}^\top"),),
    doc="max over axes; ties split the gradient evenly (as torch.amax)")

Min = Op(
    "min", lambda a, axis, keepdims: np.min(a, axis=axis, keepdims=keepdims), symbol="min",
    saves=("a", "out"), vjp=(_share_grad,), jvp=(_share_tangent,),
    formula=(Template("e_argmin(ᵀ) (ties share)", r"e_{\arg\min}^\top"),),
    doc="min over axes; ties split the gradient evenly (as torch.amin)")


class MaxResult(NamedTuple):
    """``max(x, dim)``'s result, as PyTorch's ``torch.return_types.max``."""

    values: Tensor
    indices: Tensor


class MinResult(NamedTuple):
    """``min(x, dim)``'s result, as PyTorch's ``torch.return_types.min``."""

    values: Tensor
    indices: Tensor


def _reduce(op: Op, a: Any, axis: Any, keepdims: bool, dim: Any, keepdim: Any) -> Tensor:
    a = as_input(a)
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    axes = normalize_axis(axis, a.ndim, op.name)
    if op in (Max, Min) and a.numel() == 0:
        raise ValueError(f"{op.name}: empty tensor has no {'maximum' if op is Max else 'minimum'}")
    return apply(op, (a,), {"axis": axes, "keepdims": bool(keepdims)})


def sum(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,  # noqa: A001
        keepdim: Any = None) -> Tensor:
    """Σ of a over ``axis`` (all axes by default)."""
    return _reduce(Sum, a, axis, keepdims, dim, keepdim)


def mean(a: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
         keepdim: Any = None) -> Tensor:
    """Arithmetic mean over ``axis``."""
    return _reduce(Mean, a, axis, keepdims, dim, keepdim)


def _select(a: Tensor, dim: int, keepdim: bool, pick: Any, result: type, name: str) -> Any:
    """(values, indices) along ``dim`` as PyTorch: the first extreme; its gradient goes there."""
    if a.ndim == 0:
        if dim not in (0, -1):
            raise IndexError(f"{name}: dim {dim} is out of range for a 0-d tensor")
        return result(a * 1, _tensor_ctor(np.asarray(0, dtype=np.int64)))
    (ax,) = normalize_axis(dim, a.ndim, name)
    ax += a.ndim
    if a.shape[ax] == 0:
        raise ValueError(f"{name}: the reduced dimension {dim} has size 0")
    idx = pick(a.data, axis=ax)
    grids: list[Any] = []
    out_nd = a.ndim - 1
    for k, n in enumerate(a.shape):
        if k == ax:
            grids.append(idx)
        else:
            pos = k if k < ax else k - 1
            grids.append(np.arange(n).reshape((1,) * pos + (n,) + (1,) * (out_nd - pos - 1)))
    values = a[tuple(grids)]
    indices = np.asarray(idx, dtype=np.int64)
    if keepdim:
        values = values.reshape(a.shape[:ax] + (1,) + a.shape[ax + 1:])
        indices = np.expand_dims(indices, ax)
    return result(values, _tensor_ctor(indices))


def _tensor_ctor(arr: np.ndarray) -> Tensor:
    return Tensor._from_op(arr, None)


def _extreme(op: Op, pick: Any, result: type, a: Any, dim: Any, keepdim: Any, axis: Any,
             keepdims: Any) -> Any:
    if isinstance(dim, Tensor) or (dim is not None and not isinstance(dim, (int, np.integer))
                                   and not isinstance(dim, (tuple, list))):
        from .elementwise import maximum, minimum  # torch.max(a, b): elementwise

        return (maximum if op is Max else minimum)(a, dim)
    if dim is not None and axis is not None:
        raise TypeError(f"{op.name}: give dim (PyTorch) or axis (NumPy), not both")
    if dim is not None and isinstance(dim, (int, np.integer)):
        return _select(as_input(a), int(dim), bool(keepdim), pick, result, op.name)
    return _reduce(op, a, axis if axis is not None else dim, bool(keepdims or keepdim),
                   None, None)


def max(a: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: Any = None) -> Any:
    """max over ``dim`` the PyTorch way, as (values, indices); over ``axis`` or all: values."""
    return _extreme(Max, np.argmax, MaxResult, a, dim, keepdim, axis, keepdims)


def min(a: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: Any = None) -> Any:
    """min over ``dim`` the PyTorch way, as (values, indices); over ``axis`` or all: values."""
    return _extreme(Min, np.argmin, MinResult, a, dim, keepdim, axis, keepdims)


def amax(a: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """max over ``dim`` (all by default), values only; ties share the gradient (torch.amax)."""
    return _reduce(Max, a, dim, keepdim, None, None)


def amin(a: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """min over ``dim`` (all by default), values only; ties share the gradient (torch.amin)."""
    return _reduce(Min, a, dim, keepdim, None, None)


# ----- index reductions and composites (var, std, norm: built from table ops) -------------------
def _arg(pick: Any, name: str, a: Any, dim: Any, keepdim: bool) -> Tensor:
    a = as_input(a)
    if a.numel() == 0:
        raise ValueError(f"{name}: empty tensor (shape {a.shape}) has no extreme to point at")
    v = a.data
    if dim is None:  # the index into the flattened tensor, as PyTorch
        idx = np.asarray(pick(v), dtype=np.int64)
        if keepdim:
            idx = idx.reshape((1,) * v.ndim)
        return _tensor_ctor(idx)
    if a.ndim == 0:
        normalize_axis(dim, 1, name)
        return _tensor_ctor(np.zeros((), np.int64))
    (ax,) = normalize_axis(dim, a.ndim, name)
    return _tensor_ctor(np.asarray(pick(v, axis=ax, keepdims=bool(keepdim)), dtype=np.int64))


def argmax(a: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """argmax_i a_i along ``dim`` (the flattened tensor when None); the first one on ties;
    int64, no gradient (as torch.argmax)."""
    return _arg(np.argmax, "argmax", a, dim, keepdim)


def argmin(a: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """argmin_i a_i along ``dim`` (the flattened tensor when None); the first one on ties."""
    return _arg(np.argmin, "argmin", a, dim, keepdim)


def _spread_args(name: str, dim: Any, unbiased: Any, keepdim: Any, correction: Any, axis: Any,
                 ddof: Any, keepdims: Any) -> tuple[Any, float, bool]:
    """(axes, correction, keepdim) from PyTorch's (dim, correction=1, keepdim) or NumPy's
    (axis, ddof=0, keepdims) spelling; mixing the two is refused."""
    numpy_way = axis is not None or ddof is not None or keepdims is not None
    torch_way = dim is not None or unbiased is not None or correction is not None or keepdim
    if numpy_way and torch_way:
        raise TypeError(f"{name}: give PyTorch's dim/correction/keepdim or NumPy's "
                        "axis/ddof/keepdims, not both")
    if numpy_way:
        return axis, float(0 if ddof is None else ddof), bool(keepdims)
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}: give correction or unbiased, not both")
    if isinstance(dim, bool):  # torch's old var(unbiased) positional form
        dim, unbiased = None, dim
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return dim, float(1 if correction is None else correction), bool(keepdim)


def _var(a: Any, axes: Any, correction: float, keepdim: bool, name: str) -> Tensor:
    """Σ (a − mean a)² / (N − correction) over ``axes``."""
    a = as_input(a)
    if a.dtype.kind != "f":
        raise TypeError(f"{name}: needs a floating-point tensor, got {a.dtype}")
    ax = normalize_axis(axes, a.ndim, name)
    n = _count(a.shape, ax)
    d = a - mean(a, ax, keepdims=True)
    with np.errstate(divide="ignore"):  # N ≤ correction: inf·0 = nan, as PyTorch
        scale = np.divide(1.0, builtins.max(n - correction, 0.0))
    return sum(d * d, ax, keepdims=keepdim) * a.dtype.type(scale)


def var(a: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None, axis: Any = None, ddof: Any = None,
        keepdims: Any = None) -> Tensor:
    """Σ (a − ā)² / (N − correction): PyTorch's ``dim``/``correction=1``/``keepdim``, or NumPy's
    ``axis``/``ddof=0``/``keepdims`` (each keeps its own default)."""
    axes, c, keep = _spread_args("var", dim, unbiased, keepdim, correction, axis, ddof, keepdims)
    return _var(a, axes, c, keep, "var")


def std(a: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None, axis: Any = None, ddof: Any = None,
        keepdims: Any = None) -> Tensor:
    """√var (same arguments and defaults as :func:`var`)."""
    from .elementwise import sqrt

    axes, c, keep = _spread_args("std", dim, unbiased, keepdim, correction, axis, ddof, keepdims)
    return sqrt(_var(a, axes, c, keep, "std"))


def _root(s: Tensor, p: float) -> Tensor:
    """s^(1/p), with 0 (not nan) as the gradient where s = 0 (PyTorch's subgradient there)."""
    from .elementwise import where

    pos = s > 0
    one, zero = s.dtype.type(1), s.dtype.type(0)
    return where(pos, where(pos, s, one) ** (1.0 / p), zero)


def norm(a: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
    """The vector p-norm (Σ |a_i|^p)^(1/p) over ``dim`` (all by default); p = inf: max |a_i|,
    −inf: min |a_i|, 0: the count of nonzeros, "fro": 2 (as torch.norm; "nuc" is refused)."""
    from .elementwise import abs as abs_

    a = as_input(a)
    if a.dtype.kind != "f":
        raise TypeError(f"norm: needs a floating-point tensor, got {a.dtype}")
    if p == "fro":
        p = 2
    if isinstance(p, str) or isinstance(p, bool) or not isinstance(p, (int, float, np.number)):
        raise ValueError(f"norm: p must be a number, inf, -inf or 'fro', got {p!r} "
                         "(the nuclear norm is not supported)")
    p = float(p)
    ax = normalize_axis(dim, a.ndim, "norm")
    if p == np.inf:
        return amax(abs_(a), ax, keepdim)
    if p == -np.inf:
        return amin(abs_(a), ax, keepdim)
    if p == 0:
        return _tensor_ctor(np.asarray(np.count_nonzero(a.data, axis=ax, keepdims=keepdim),
                                       dtype=a.dtype))
    if p == 2:
        return _root(sum(a * a, ax, keepdim), 2)
    if p == 1:
        return sum(abs_(a), ax, keepdim)
    return _root(sum(abs_(a) ** p, ax, keepdim), p)
