"""Functions of ``dg.nn.functional`` (PyTorch's ``torch.nn.functional`` names), on the op table.

The losses follow PyTorch's semantics: the class axis is axis 1 of an ``(N, C, d1, …)`` input
(``(C,)`` and ``(N, C)`` as usual), ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``,
``weight`` rescales each class (a weighted mean divides by the summed weights of the counted
targets), ``ignore_index`` drops targets, ``label_smoothing`` mixes in the uniform distribution,
and ``cross_entropy`` also takes class probabilities as targets.  The plain case (integer
labels, mean, nothing else) is the table's fused ``cross_entropy`` op; every other case is
composed of table ops and recorded comparisons, so ``dg.compile`` replays it with new labels.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

from .. import ops
from ..ops.base import apply, as_input
from ..ops.nn import CrossEntropy, check_labels
from ..tensor import Tensor
from . import init as nninit

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "one_hot",
    "dropout",
    "softmax",
    "log_softmax",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "softplus",
    "linear",
]

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(per: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per.mean()
    return per.sum() if reduction == "sum" else per


def _classes_last(x: Tensor, op: str) -> Tensor:
    """The input as (M, C): (C,) → (1, C), (N, C) as it is, (N, C, d1, …) → (N·d1·…, C)."""
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis (shape (C,), (N, C) or "
                         "(N, C, d1, ...))")
    if x.ndim == 1:
        return x.reshape(1, x.shape[0])
    if x.ndim == 2:
        return x
    return x.permute(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def _batch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The target shape of class indices for an input of this shape (the class axis removed)."""
    return () if len(shape) == 1 else (shape[0], *shape[2:])


def _weight(weight: Any, n_classes: int, dtype: np.dtype, op: str) -> Tensor | None:
    if weight is None:
        return None
    w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, dtype=dtype))
    if w.shape != (n_classes,):
        raise ValueError(f"{op}: weight must have shape ({n_classes},), one per class, got "
                         f"{w.shape}")
    if w.dtype.kind != "f":
        raise TypeError(f"{op}: weight must be floats, got {w.dtype}")
    return w


def _labels(target: Any, shape: tuple[int, ...], n_classes: int, ignore_index: int,
            op: str) -> tuple[Tensor, bool]:
    """Class-index targets as an int64 Tensor (the caller's array when it already is one), each
    in [0, C) or equal to ``ignore_index``; and whether any target is ignored."""
    lab = target.data if isinstance(target, Tensor) else np.asarray(target)
    batch = _batch_shape(shape)
    ignored = lab == ignore_index if lab.dtype.kind in "iuf" else np.zeros(lab.shape, bool)
    any_ignored = bool(np.any(ignored))
    if not any_ignored:
        return check_labels(lab, batch, n_classes, op), False
    check_labels(np.where(ignored, 0, lab), batch, n_classes, op)   # the others in range
    y = target if isinstance(target, Tensor) and target.dtype == np.int64 else \
        Tensor._from_op(lab.astype(np.int64, copy=False), None)
    return y, True


def _is_probabilities(target: Any, x: Tensor) -> bool:
    dt = target.dtype if isinstance(target, Tensor) else np.asarray(target).dtype
    return dt.kind == "f" and tuple(np.shape(target.data if isinstance(target, Tensor)
                                             else target)) == x.shape


def _index_loss(lsm: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str,
                label_smoothing: float, shape: tuple[int, ...], op: str) -> Tensor:
    """Σ over targets of w_y·(−(1 − ε) log p_y − (ε/C) Σ_c w_c log p_c / w_y…), as PyTorch:
    lsm (M, C) log-probabilities; the smoothing term is −(ε/C) Σ_c w_c log p_c."""
    m, c = lsm.shape
    dt = lsm.dtype
    w = _weight(weight, c, dt, op)
    y, _ = _labels(target, shape, c, ignore_index, op)
    zero = Tensor(np.zeros((), dt))
    valid = y.reshape(m) != ignore_index                       # recorded comparisons: a
    hot = ops.where(valid, y.reshape(m), -1).reshape(m, 1) == np.arange(c)  # replay re-reads y
    wl = lsm if w is None else lsm * w
    nll = -ops.where(hot, wl, zero).sum(-1)                    # −w_y log p_y, 0 if ignored
    eps = float(label_smoothing)
    smooth = ops.where(valid, -wl.sum(-1), zero) if eps else None
    if reduction == "none":
        per = nll if smooth is None else nll * (1 - eps) + smooth * (eps / c)
        return per.reshape(_batch_shape(shape))
    if reduction == "sum":
        total = nll.sum()
        return total if smooth is None else total * (1 - eps) + smooth.sum() * (eps / c)
    one = Tensor(np.ones((), dt))
    denom = ops.where(hot, one if w is None else w, zero).sum()   # Σ w_y over counted targets
    loss = nll.sum() / denom
    return loss if smooth is None else loss * (1 - eps) + (smooth.sum() / denom) * (eps / c)


def _probability_loss(lsm: Tensor, target: Any, weight: Any, reduction: str,
                      label_smoothing: float, shape: tuple[int, ...], op: str) -> Tensor:
    """−Σ_c w_c q_c log p_c per sample for target probabilities q (smoothed: (1 − ε)q + ε/C)."""
    m, c = lsm.shape
    if isinstance(target, Tensor):
        if target.dtype != lsm.dtype:
            raise TypeError(f"{op}: probability targets of dtype {target.dtype} for input of "
                            f"dtype {lsm.dtype}; convert one of them")
        q = target
    else:
        q = Tensor(np.asarray(target, dtype=lsm.dtype))
    q = _classes_last(q, op)
    eps = float(label_smoothing)
    if eps:
        q = q * (1 - eps) + eps / c
    w = _weight(weight, c, lsm.dtype, op)
    t = lsm * q if w is None else lsm * q * w
    per = -t.sum(-1)
    if reduction == "none":
        return per.reshape(_batch_shape(shape))
    return per.sum() if reduction == "sum" else per.sum() / m


def cross_entropy(input: Any, target: Any, weight: Any = None,  # noqa: A002
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """L = −Σ_c q_c log softmax(x)_c per target, reduced; q is one-hot of the class index
    (or given probabilities), smoothed to (1 − ε)q + ε/C, weighted by ``weight`` (PyTorch's)."""
    x = as_input(input)
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], got "
                         f"{label_smoothing}")
    if x.ndim == 0:
        raise ValueError("cross_entropy: input must have a class axis (shape (C,), (N, C) or "
                         "(N, C, d1, ...))")
    if _is_probabilities(target, x):
        if ignore_index >= 0:
            raise ValueError("cross_entropy: ignore_index is not supported for probability "
                             "targets")
        lsm = ops.log_softmax(_classes_last(x, "cross_entropy"), -1)
        return _probability_loss(lsm, target, weight, reduction, label_smoothing, x.shape,
                                 "cross_entropy")
    if weight is None and reduction == "mean" and not label_smoothing:
        y, any_ignored = _labels(target, x.shape, x.shape[1 if x.ndim > 1 else 0],
                                 ignore_index, "cross_entropy")
        if not any_ignored:                         # the plain case: the fused op
            if x.ndim <= 2:
                return apply(CrossEntropy, (x, y), {})
            return apply(CrossEntropy, (_classes_last(x, "cross_entropy"), y.reshape(-1)), {})
    lsm = ops.log_softmax(_classes_last(x, "cross_entropy"), -1)
    return _index_loss(lsm, target, weight, ignore_index, reduction, label_smoothing, x.shape,
                       "cross_entropy")


def nll_loss(input: Any, target: Any, weight: Any = None,  # noqa: A002
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """L = −w_y · input[y] per target (input: log-probabilities, class axis 1), reduced; the
    weighted mean divides by Σ w_y over the targets not ignored (PyTorch's)."""
    lp = as_input(input)
    _check_reduction(reduction, "nll_loss")
    if lp.ndim == 0:
        raise ValueError("nll_loss: input must have a class axis (shape (C,), (N, C) or "
                         "(N, C, d1, ...))")
    n_classes = lp.shape[1 if lp.ndim > 1 else 0]
    if weight is None and reduction == "mean" and lp.ndim <= 2:
        lab, any_ignored = _labels(target, lp.shape, n_classes, ignore_index, "nll_loss")
        if not any_ignored:                         # the plain case: pick and average
            flat = lp.reshape(1, n_classes) if lp.ndim == 1 else lp
            idx = lab.data.reshape(-1)
            return -flat[np.arange(idx.size), idx].mean()
    return _index_loss(_classes_last(lp, "nll_loss"), target, weight, ignore_index, reduction,
                       0.0, lp.shape, "nll_loss")


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """L = (x − y)², elementwise (broadcasting), reduced by ``reduction``."""
    _check_reduction(reduction, "mse_loss")
    d = as_input(input) - target
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """L = |x − y|, elementwise (broadcasting), reduced by ``reduction``."""
    _check_reduction(reduction, "l1_loss")
    return _reduce(ops.abs(as_input(input) - target), reduction)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """e_y: int64 of shape (*y.shape, C), 1 at each class index (C = max + 1 when −1)."""
    lab = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {lab.dtype}")
    if num_classes == -1:
        if lab.size == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor; "
                             "pass num_classes")
        num_classes = int(lab.max()) + 1
    if lab.size and lab.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(lab.min())}")
    if lab.size and lab.max() >= num_classes:
        raise ValueError(f"one_hot: class value {int(lab.max())} is not smaller than "
                         f"num_classes={num_classes}")
    y = tensor if isinstance(tensor, Tensor) else Tensor._from_op(lab, None)
    return (y.reshape(*lab.shape, 1) == np.arange(num_classes)).astype("int64")


def _refuse_while_compiling(what: str) -> None:
    trace = sys.modules.get("dagrad.compiler.trace")
    if trace is not None and trace.ACTIVE and trace.ACTIVE[-1].thread == threading.get_ident():
        raise trace.CompileError(
            f"dg.compile: {what} draws a new random mask at every call, which a replay would "
            "repeat unchanged; train with dropout eagerly, or compile the model in eval() mode")


def dropout(input: Any, p: float = 0.5, training: bool = True,  # noqa: A002
            inplace: bool = False) -> Tensor:
    """Inverted dropout: x · m / (1 − p), m_i ~ Bernoulli(1 − p) from dagrad's generator
    (``dg.manual_seed``); the identity when not training or p = 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if inplace:
        raise ValueError("dropout: inplace=True is not supported; use the returned tensor")
    x = as_input(input)
    if not training or p == 0:
        return x
    _refuse_while_compiling("dropout")
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    if p == 1:
        mask = np.zeros(x.shape, dt)
    else:
        mask = (nninit.resolve_generator().random(x.shape) < 1 - p).astype(dt)
        mask /= dt.type(1 - p)
    return x * Tensor(mask)


def softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along ``axis``."""
    return ops.softmax(x, axis, dim=dim)


def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """log softmax(x) = x − log Σ_j e^{x_j} along ``axis``."""
    return ops.log_softmax(x, axis, dim=dim)


def tanh(x: Any) -> Tensor:
    """tanh(x), elementwise."""
    return ops.tanh(x)


def sigmoid(x: Any) -> Tensor:
    """σ(x) = 1 / (1 + e^−x), elementwise."""
    return ops.sigmoid(x)


def relu(x: Any) -> Tensor:
    """max(x, 0), elementwise."""
    return ops.relu(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else slope·x, elementwise."""
    return ops.leaky_relu(x, negative_slope)


def softplus(x: Any) -> Tensor:
    """softplus(x) = ln(1 + e^x), elementwise, computed stably (beta=1, threshold=20)."""
    return ops.softplus(x)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x Wᵀ + b with W of shape (out, in) (fused op)."""
    return ops.linear(x, weight, bias)
