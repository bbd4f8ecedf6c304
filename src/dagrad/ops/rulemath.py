"""The few array functions that derivative rules call besides operators.

Each works on ndarrays (plain NumPy, the fast backward) and on Tensors (recorded through the op
table, for ``create_graph=True``), so one rule serves both.  Everything that merely *selects*
(masks, signs, counts) returns a constant: it carries no derivative of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .rulecode import Code
from .rulecode import as_float as _recorded_mask
from .rulecode import where as _recorded_where


def _is_t(*xs: Any) -> bool:
    return any(isinstance(x, Tensor) for x in xs)


#: The ops some helpers below need (``where``, ``swapaxes``, ``transpose``, ``broadcast_to``,
#: ``scatter_add`` and its array form), registered by the op modules when they load: rulemath
#: sits below them and imports none (no import circle).
REGISTERED: dict[str, Callable[..., Any]] = {}


def const(x: Any) -> np.ndarray:
    """The value of x as an ndarray, cut from any graph (masks, signs, counts)."""
    if isinstance(x, Tensor):
        return x.data
    return x if type(x) is Code else np.asarray(x)


def where(cond: Any, x: Any, y: Any) -> Any:
    """``x`` where ``cond`` holds, else ``y`` (cond is a constant mask)."""
    if _is_t(x, y):
        return REGISTERED["where"](const(cond), x, y)
    if type(cond) is Code:  # recorded for dg.compile (rulecode)
        return _recorded_where(cond, x, y)
    return np.where(const(cond), x, y)


def exp(x: Any) -> Any:
    """e**x."""
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log(x: Any) -> Any:
    """Natural logarithm."""
    return x.log() if isinstance(x, Tensor) else np.log(x)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent."""
    return x.tanh() if isinstance(x, Tensor) else np.tanh(x)


def sign(x: Any) -> np.ndarray:
    """sign(x) as a constant of x's dtype (0 at 0)."""
    v = const(x)
    return np.sign(v).astype(v.dtype, copy=False)


def mask(cond: Any, like: Any) -> np.ndarray:
    """A boolean condition as 0/1 in the dtype of ``like`` (a constant)."""
    if type(cond) is Code:  # recorded for dg.compile (rulecode)
        return _recorded_mask(cond, like)
    return np.asarray(cond, dtype=const(like).dtype)


def swapaxes(x: Any, i: int = -1, j: int = -2) -> Any:
    """Swap two axes (a view for ndarrays)."""
    if isinstance(x, Tensor):
        return REGISTERED["swapaxes"](x, i, j)
    return x.swapaxes(i, j)


def transpose(x: Any, axes: tuple[int, ...]) -> Any:
    """Permute the trailing ``len(axes)`` axes of x by ``axes``; leading batch axes stay put."""
    nb = x.ndim - len(axes)
    full = tuple(range(nb)) + tuple(nb + (a % len(axes)) for a in axes)
    if isinstance(x, Tensor):
        return REGISTERED["transpose"](x, full)
    return np.transpose(x, full)


def reshape(x: Any, shape: tuple[int, ...]) -> Any:
    """Reshape."""
    return x.reshape(shape)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast x to ``shape`` (a read-only view for ndarrays)."""
    if isinstance(x, Tensor):
        return REGISTERED["broadcast_to"](x, shape)
    return np.broadcast_to(x, shape)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum over ``axis``."""
    return x.sum(axis=axis, keepdims=keepdims)


def softmax(x: Any, axis: int = -1) -> Any:
    """softmax along ``axis``."""
    if isinstance(x, Tensor):
        return x.softmax(axis)
    e = np.exp(x - np.maximum.reduce(x, axis=axis, keepdims=True))
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


def cast(x: Any, dtype: np.dtype) -> Any:
    """Convert to ``dtype``."""
    if isinstance(x, Tensor):
        return x.astype(dtype)
    return x.astype(dtype, copy=False)


def batch_shape(t: Any, ndim: int) -> tuple[int, ...]:
    """The extra leading (batch) axes of a cotangent or tangent whose base rank is ``ndim``."""
    return tuple(t.shape[: t.ndim - ndim])


def expand_reduced(g: Any, in_shape: tuple[int, ...], axis: tuple[int, ...],
                   keepdims: bool) -> Any:
    """Undo a reduction over ``axis`` (negative axes): reinsert size-1 axes, broadcast back."""
    nb = g.ndim - (len(in_shape) if keepdims else len(in_shape) - len(axis))
    batch = tuple(g.shape[:nb])
    if not keepdims:
        kept = tuple(1 if (i - len(in_shape)) in axis else n for i, n in enumerate(in_shape))
        g = reshape(g, batch + kept)
    return broadcast_to(g, batch + tuple(in_shape))


def scatter_add(g: Any, index: tuple, shape: tuple[int, ...], result_ndim: int) -> Any:
    """Zeros of ``shape`` (plus g's batch axes) with g added at ``index`` (repeats accumulate)."""
    if isinstance(g, Tensor):
        return REGISTERED["scatter_add"](g, index, shape, result_ndim)
    return REGISTERED["scatter_add_forward"](g, index, shape, result_ndim)
