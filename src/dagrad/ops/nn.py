"""Neural-network ops: softmax, log_softmax and the fused softmax + cross-entropy.

All three subtract the maximum first, so logits of ±1e4 stay finite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import fastpaths
from ..tensor import Tensor
from . import rulemath as rm
from .base import Op, Template, WithResiduals, apply, as_input

# ufunc.reduce directly: ndarray.max/.sum go through a Python wrapper first.
_MAX, _MIN, _SUM = np.maximum.reduce, np.minimum.reduce, np.add.reduce


def _row_max(a: np.ndarray) -> np.ndarray:
    """max over the last axis of a 2-D array, keepdims (the same values as ``_MAX``).

    NumPy reduces short rows one row at a time (x.max(axis=1) of 512×10 floats: 24 µs); for
    few columns reducing the transposed copy across rows is several times faster (3.6 µs).
    The maximum is exact, so any order gives the same values.
    """
    if a.shape[1] <= 32 and a.flags.c_contiguous:
        return _MAX(np.ascontiguousarray(a.T), axis=0)[:, None]
    return _MAX(a, axis=-1, keepdims=True)


def _softmax_forward(a, axis):
    e = np.exp(a - _MAX(a, axis=axis, keepdims=True))
    e /= _SUM(e, axis=axis, keepdims=True)
    return e


def _log_softmax_forward(a, axis):
    s = a - _MAX(a, axis=axis, keepdims=True)
    return s - np.log(_SUM(np.exp(s), axis=axis, keepdims=True))


Softmax = Op(
    "softmax", _softmax_forward, symbol="softmax",
    saves=("out",),
    vjp=(lambda g, a, out, axis: out * (g - rm.sum(g * out, axis, True)),),
    jvp=(lambda t, a, out, axis: out * (t - rm.sum(t * out, axis, True)),),
    formula=(Template("diag(s) − s sᵀ, s = {out}",
                      r"\operatorname{diag}({out}) - {out}\,{out}^\top"),),
    doc="s_i = e^{a_i} / Σ_j e^{a_j} along axis; Jacobian diag(s) − s sᵀ")

LogSoftmax = Op(
    "log_softmax", _log_softmax_forward, symbol="log softmax",
    saves=("out",),
    vjp=(lambda g, a, out, axis: g - rm.exp(out) * rm.sum(g, axis, True),),
    jvp=(lambda t, a, out, axis: t - rm.sum(rm.exp(out) * t, axis, True),),
    formula=(Template("I − 1 sᵀ, s = exp({out})", r"I - \mathbf{1}\,s^\top"),),
    doc="a_i − log Σ_j e^{a_j} along axis")


def _onehot(labels: np.ndarray, n: int, dtype: np.dtype) -> np.ndarray:
    return (labels[..., None] == np.arange(n)).astype(dtype)


def _ce_forward(logits, labels):
    if logits.ndim == 2 and len(logits) and logits.dtype.itemsize >= 4:
        # (N, C): log softmax only at the labels — the same subtractions as the full
        # log_softmax, picked first — and e^s with its row sums saved for the vjp (its softmax).
        n = len(logits)
        s = logits - _row_max(logits)
        e = np.exp(s)
        se = _SUM(e, axis=-1, keepdims=True)
        picked = s[_rows(n), labels] - np.log(se)[:, 0]
        out = np.asarray(-(_SUM(picked) / n), dtype=logits.dtype)
        if fastpaths.CE_SAVE and logits.dtype.kind == "f":
            return WithResiduals(out, e=e, se=se)
        return out
    lsm = _log_softmax_forward(logits, -1)
    picked = np.take_along_axis(lsm, labels[..., None], axis=-1)[..., 0]
    return np.asarray(-picked.mean(), dtype=logits.dtype)


def _ce_residual(logits, labels, e=None, se=None):
    """(softmax(logits) − onehot(labels)) / N: the gradient of the mean loss w.r.t. the logits.

    ``e``, ``se``: the forward's e^(logits − max) and its row sums, when it saved them.
    """
    lv = rm.const(logits)
    n = max(math.prod(lv.shape[:-1]), 1)
    if lv.ndim == 2 and not isinstance(logits, Tensor):
        # ndarrays: the same values with no one-hot matrix, in place on a fresh softmax
        # (the saved e stays intact for a retained graph's next pass)
        r = e / se if e is not None else rm.softmax(lv, -1)  # as rm.softmax: e^(x − max) / Σ
        r[_rows(len(r)), rm.const(labels)] -= 1
        r *= 1.0 / n
        return r
    return (rm.softmax(logits, -1) - _onehot(rm.const(labels), lv.shape[-1], lv.dtype)) * (1.0 / n)


#: np.arange(n) for the batch sizes seen (read-only; a bounded cache): the rows of the labels.
_ROWS: dict[int, np.ndarray] = {}


def _rows(n: int) -> np.ndarray:
    """0, 1, …, n − 1 (cached): the row indices that pair each sample with its label."""
    r = _ROWS.get(n)
    if r is None:
        r = np.arange(n)
        r.flags.writeable = False
        if len(_ROWS) < 64:
            _ROWS[n] = r
    return r


def _ce_grad(g, logits, labels, out, e=None, se=None):
    if e is not None and type(labels) is np.ndarray and type(e) is np.ndarray and e.ndim == 2 \
            and len(e) \
            and isinstance(g, (np.ndarray, np.generic)) and g.ndim == 0 and g.dtype == e.dtype:
        # the usual training step (arrays, a scalar cotangent): _ce_residual's arithmetic,
        # in its order, with fewer calls; × g skipped when g is 1 (x·1 = x exactly)
        r = e / se
        r[_rows(len(r)), labels] -= 1
        r *= 1.0 / len(r)
        if g != 1:
            r *= g
        return r
    r = _ce_residual(logits, labels, e, se)
    if isinstance(r, np.ndarray) and not isinstance(g, Tensor) and g.ndim == 0 \
            and g.dtype == r.dtype:
        r *= g  # a plain scalar cotangent: scale the residual this rule owns
        return r
    return rm.reshape(g, tuple(g.shape) + (1,) * rm.const(logits).ndim) * r


def _ce_tangent(t, logits, labels, out):
    r = _ce_residual(logits, labels)
    nd = rm.const(logits).ndim
    return rm.sum(t * r, tuple(range(-nd, 0)))


CrossEntropy = Op(
    "cross_entropy", _ce_forward, args=("logits", "labels"), symbol="CE",
    saves=("logits", "labels"), residuals=("e", "se"),
    vjp=(_ce_grad, None), jvp=(_ce_tangent, None),
    formula=(Template("(softmax({logits}) − onehot(y))ᵀ / N",
                      r"\tfrac{1}{N}(\operatorname{softmax}({logits}) - e_y)^\top"), None),
    doc="mean over samples of −log softmax(logits)[label]; labels are integers in [0, C)")


def _axis(axis: int, dim: int | None, ndim: int, op: str) -> int:
    axis = dim if dim is not None else axis
    if ndim == 0 or not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} out of range for a tensor of rank {ndim}")
    return axis - ndim if axis >= 0 else axis


def softmax(a: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """softmax(a)_i = e^{a_i} / Σ_j e^{a_j} along ``axis`` (max subtracted for stability)."""
    a = as_input(a)
    return apply(Softmax, (a,), {"axis": _axis(axis, dim, a.ndim, "softmax")})


def log_softmax(a: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """log softmax(a) = a − logΣexp(a) along ``axis``, computed stably."""
    a = as_input(a)
    return apply(LogSoftmax, (a,), {"axis": _axis(axis, dim, a.ndim, "log_softmax")})


#: Native signed integer dtypes → the unsigned dtype of the same size (for the range check).
_UNSIGNED = {np.dtype(f"i{n}"): np.dtype(f"u{n}") for n in (1, 2, 4, 8)}
_UNSIGNED.update({np.dtype(f"u{n}"): np.dtype(f"u{n}") for n in (1, 2, 4, 8)})


def check_labels(labels: Any, batch_shape: tuple[int, ...], n_classes: int, op: str) -> Tensor:
    """Integer labels of the right shape, each in [0, n_classes); else a clear error."""
    lab = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    if lab.dtype.kind not in "iu":
        if lab.dtype.kind == "f" and lab.size and np.all(lab == np.round(lab)):
            lab = lab.astype(np.int64)
        else:
            raise TypeError(f"{op}: labels must be integers (class indices from 0), got dtype "
                            f"{lab.dtype}")
    if lab.shape != batch_shape:
        raise ValueError(f"{op}: labels of shape {lab.shape} do not match the logits' batch "
                         f"shape {batch_shape}")
    # one reduction for both bounds: negative labels viewed as unsigned are huge
    unsigned = _UNSIGNED.get(lab.dtype)
    if unsigned is not None:
        low_or_high = lab.size and _MAX(lab.view(unsigned), axis=None) >= n_classes
    else:
        low_or_high = lab.size and (_MIN(lab, axis=None) < 0 or
                                    _MAX(lab, axis=None) >= n_classes)
    if low_or_high:
        bad = (lab < 0) | (lab >= n_classes)
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{op}: label {int(lab[pos])} at position {pos} is outside [0, "
                         f"{n_classes}) — labels are class indices from 0 (the sheet's "
                         f"y ∈ [1:10] is label + 1)")
    return Tensor._from_op(lab.astype(np.int64, copy=False), None)


def cross_entropy(logits: Any, labels: Any) -> Tensor:
    """Mean of −log softmax(logits)[y] over the samples (fused and stable, as in PyTorch)."""
    logits = as_input(logits)
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits must have a class axis (shape (C,) or (N, C))")
    lab = check_labels(labels, logits.shape[:-1], logits.shape[-1], "cross_entropy")
    return apply(CrossEntropy, (logits, lab), {})
