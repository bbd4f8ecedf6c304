"""In-place ops (``t += x``, ``t.mul_(x)``, ``t[i] = v``, ``t.zero_()``…), with PyTorch's rules.

* Not recording (grad mode off, or neither ``t`` nor the operand requires grad): the new values
  are written into ``t``'s memory, so every view of it sees them, and the memory's version
  counter (:mod:`dagrad.versions`) goes up.  This is ``p -= lr * p.grad`` under ``no_grad``.
* Recording (grad mode on and ``t`` or the operand requires grad): the op is recorded like any
  other and ``t`` takes over the new node, whose first input is ``t``'s previous identity (a
  new Tensor object holding the old node).  Nodes made before the write that used ``t`` still
  reach that old identity in backward (``autodiff`` routes them by creation order), and a node
  that saved ``t``'s old values raises in backward, naming the op (the version counter).
* A leaf that requires grad refuses outside ``no_grad`` (PyTorch's error), and so does a view
  while recording: dagrad does not track which tensors share memory with which.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import versions
from .ops import base, elementwise
from .ops import elementwise as _ew
from .ops import shape as shape_ops
from .tensor import _SEQ, STATE, Tensor, grad_on

__all__ = ["binary", "fill", "setitem", "LEAF_ERROR"]

LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."
_next = _SEQ.__next__


def _check(t: Tensor, what: str) -> bool:
    """Whether this write is recorded; raises for a leaf that requires grad (PyTorch's rule)."""
    if base.INPLACE_HOOKS:
        for hook in base.INPLACE_HOOKS:
            hook(t, what)
    if not grad_on():
        return False
    if t.requires_grad and t._op is None:
        raise RuntimeError(f"{what}: {LEAF_ERROR} Change a parameter's values inside "
                           "`with dg.no_grad():`, as an optimizer step does.")
    return True


def _buffer(t: Tensor, what: str) -> np.ndarray:
    buf = t.data  # an ndarray (a number held by the scalar fast path becomes one)
    if not buf.flags.writeable:
        raise RuntimeError(f"{what}: this tensor's memory is read-only (shape {buf.shape}), "
                           "e.g. a broadcast view; compute out of place instead")
    return buf


def _write(buf: np.ndarray, values: Any, what: str) -> None:
    """buf ← values (same shape, cast within its kind, as torch's in-place ops), version + 1."""
    shape = np.shape(values)
    if shape != buf.shape and np.broadcast_shapes(shape, buf.shape) != buf.shape:
        raise RuntimeError(f"{what}: output with shape {buf.shape} doesn't match the "
                           f"broadcast shape {np.broadcast_shapes(shape, buf.shape)}")
    try:
        np.copyto(buf, values, casting="same_kind")
    except TypeError:
        raise RuntimeError(f"{what}: result type {np.result_type(values)} can't be cast to "
                           f"the desired output type {buf.dtype}") from None
    versions.bump(buf, _next())


def _broadcast_shape(what: str, a: tuple, b: tuple) -> tuple:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise RuntimeError(f"{what}: shapes {a} and {b} cannot be broadcast together") from None


def _rebase(t: Tensor, make: Any, what: str) -> Tensor:
    """Record ``t ← make(old_t)``: t becomes the new node, its old identity the first input."""
    buf = _buffer(t, what)
    if isinstance(buf.base, np.ndarray):
        raise RuntimeError(
            f"{what}: this tensor shares memory with another one (it is a view, e.g. from a "
            "slice, reshape or transpose), and dagrad does not track views while recording "
            "gradients; write it out of place (y = y * x) instead")
    old = Tensor._from_op(buf, None)
    old._op, old._ins, old._attrs = t._op, t._ins, t._attrs
    old._seq, old._freed = t._seq, t._freed
    old.requires_grad, old.name = t.requires_grad, t.name
    r = make(old)  # out of place: checks shapes and dtypes before anything is written
    if r.shape != buf.shape:
        raise RuntimeError(f"{what}: output with shape {buf.shape} doesn't match the "
                           f"broadcast shape {r.shape}")
    if r._op is None:  # nothing to record after all (e.g. the operand needs no gradient)
        _write(buf, r._d, what)
        return t
    if r._op.saved_inputs is None or 0 in r._op.saved_inputs:
        old._d = buf.copy()  # the new node's vjp reads the old values: keep them
    _write(buf, r._d, what)
    t._op, t._ins, t._attrs = r._op, r._ins, r._attrs
    t.requires_grad = True
    t._grad = None
    t._freed = False
    t._seq = _next()  # after the write's stamp: the node's own saved values are current
    STATE.rebased += 1
    return t


def binary(t: Tensor, op: base.Op, other: Any, what: str) -> Tensor:
    """t ← op(t, other) in place (``+= -= *= /=``, ``add_ sub_ mul_ div_``)."""
    recording = _check(t, what)
    if recording and (t.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
        return _rebase(t, lambda old: base.binary(op, old, other), what)
    buf = _buffer(t, what)
    val = other.data if isinstance(other, Tensor) else other
    if np.ndim(val):
        _broadcast_shape(what, buf.shape, np.shape(val))
    _write(buf, op.forward(buf, val), what)
    return t


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """t[index] ← value in place (recorded as a ``setitem`` node when gradients flow)."""
    what = "item assignment"
    recording = _check(t, what)
    if recording and (t.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
        _rebase(t, lambda old: shape_ops.setitem(old, index, value), what)
        return
    buf = _buffer(t, what)
    idx = shape_ops.normalize_index(index, buf.shape)
    val = value.data if isinstance(value, Tensor) else value
    try:
        buf[idx] = val
    except ValueError as e:
        raise RuntimeError(f"{what}: {e}") from None
    versions.bump(buf, _next())


def fill(t: Tensor, value: Any, what: str) -> Tensor:
    """t ← value everywhere (``zero_``, ``fill_``, ``copy_``): value broadcast to t's shape."""
    recording = _check(t, what)
    if recording and (t.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
        return _rebase(t, lambda old: shape_ops.setitem(old, Ellipsis, value), what)
    buf = _buffer(t, what)
    val = value.data if isinstance(value, Tensor) else value
    _write(buf, np.broadcast_to(val, buf.shape) if np.ndim(val) else val, what)
    return t


class TensorInPlace:
    """The in-place methods installed onto Tensor (see :func:`install`)."""

    def zero_(self) -> Tensor:
        """self ← 0, in place."""
        return fill(self, 0, "zero_")

    def fill_(self, value: Any) -> Tensor:
        """self ← value everywhere, in place."""
        return fill(self, value, "fill_")

    def copy_(self, src: Any) -> Tensor:
        """self ← src (broadcast to self's shape, cast to its dtype), in place."""
        return fill(self, src, "copy_")

    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self ← self + alpha·other, in place."""
        return binary(self, _ew.Add, other if alpha == 1 else other * alpha, "add_")

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self ← self − alpha·other, in place."""
        return binary(self, _ew.Sub, other if alpha == 1 else other * alpha, "sub_")

    def mul_(self, other: Any) -> Tensor:
        """self ← self · other, in place."""
        return binary(self, _ew.Mul, other, "mul_")

    def div_(self, other: Any) -> Tensor:
        """self ← self / other, in place."""
        return binary(self, _ew.Div, other, "div_")

    def __iadd__(self, other): return binary(self, _ew.Add, other, "+=")

    def __isub__(self, other): return binary(self, _ew.Sub, other, "-=")

    def __imul__(self, other): return binary(self, _ew.Mul, other, "*=")

    def __itruediv__(self, other): return binary(self, _ew.Div, other, "/=")

    def __setitem__(self, index: Any, value: Any) -> None:
        """self[index] ← value, in place (recorded as a ``setitem`` node when gradients flow)."""
        setitem(self, index, value)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """self ← clamp(self, min, max), in place (recorded like any op when gradients flow)."""
        what = "clamp_"
        if _check(self, what) and self.requires_grad:  # one recorded clamp node
            return _rebase(self, lambda old: elementwise.clamp(old, min, max), what)
        _write(_buffer(self, what), elementwise.clamp(self, min, max)._d, what)
        return self

    clip_ = clamp_


def install(cls: type = Tensor) -> None:
    """Copy the in-place methods of :class:`TensorInPlace` onto ``cls``."""
    for name, value in vars(TensorInPlace).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
            setattr(cls, name, value)


install()
