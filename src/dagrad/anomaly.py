"""Anomaly detection: stop at the first NaN or inf, naming the op, its shapes and the user's line.

Inside ``with dg.detect_anomaly():`` every op remembers where the user created it (file and line
of the first stack frame outside dagrad), every forward result is checked, and every cotangent
that backward computes is checked.  The first non-finite value raises :class:`AnomalyError`.
Like PyTorch's mode of the same name it costs time; use it to debug, not to train.
"""

from __future__ import annotations

import linecache
import os
import sys
import threading
import weakref
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import autodiff
from .ops import base
from .tensor import MODES, Tensor

__all__ = ["detect_anomaly", "AnomalyError"]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_SITES: dict[int, tuple[weakref.ref, str]] = {}


class AnomalyError(FloatingPointError):
    """A NaN or inf appeared in the forward or backward pass."""


def _user_site() -> str:
    """'file:line: source' of the innermost stack frame outside the dagrad package."""
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PKG_DIR):
        f = f.f_back
    if f is None:
        return "<unknown location>"
    src = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    return f"{f.f_code.co_filename}:{f.f_lineno}" + (f": {src}" if src else "")


def _site_of(t: Tensor) -> str:
    entry = _SITES.get(id(t))
    if entry is not None and entry[0]() is t:
        return entry[1]
    return "<created outside detect_anomaly()>"


def _bad(x: Any) -> str | None:
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "fc" or np.isfinite(arr).all():
        return None
    return "nan" if np.isnan(arr).any() else "inf"


def _describe(t: Tensor) -> str:
    op, inputs, _ = t._node
    shapes = ", ".join(str(x.shape) for x in inputs)
    return f"op '{op.name}' (input shapes {shapes}, output shape {t.shape})"


def _forward_hook(op, inputs, out: Tensor, attrs) -> None:
    if not MODES.anomaly:
        return  # another thread is in anomaly mode, not this one
    site = _user_site()
    _SITES[id(out)] = (weakref.ref(out), site)
    kind = _bad(out)
    if kind is None:
        return
    shapes = ", ".join(str(x.shape) for x in inputs)
    bad_inputs = [i for i, x in enumerate(inputs) if _bad(x)]
    if bad_inputs:
        src = inputs[bad_inputs[0]]
        origin = (f"leaf '{src.name}'" if src.name else "a leaf tensor") if src.is_leaf else \
            "an earlier op"
        note = f"; input {bad_inputs[0]} already held {_bad(src)}, from {origin}"
    else:
        note = ""
    raise AnomalyError(
        f"detect_anomaly: the forward pass of op '{op.name}' (input shapes {shapes}) produced "
        f"{kind}{note}\n  created at {site}")


def _backward_hook(node: Tensor, i: int, g: Any, c: Any) -> None:
    if not MODES.anomaly:
        return
    kind = _bad(c)
    if kind is None or _bad(g):
        return
    raise AnomalyError(
        f"detect_anomaly: the backward pass of {_describe(node)} produced {kind} in the "
        f"gradient of input {i} (its incoming gradient was finite)\n"
        f"  the op was created at {_site_of(node)}")


_INSTALLED = [0]  # threads inside detect_anomaly(): the hooks stay installed while any is
_LOCK = threading.Lock()


@contextmanager
def detect_anomaly():
    """Context manager: raise AnomalyError at the first NaN/inf in forward or backward.

    Per thread, as PyTorch's: ops that other threads run meanwhile are not checked.
    """
    with _LOCK:
        if not _INSTALLED[0]:
            base.HOOKS.append(_forward_hook)
            autodiff.BACKWARD_HOOKS.append(_backward_hook)
        _INSTALLED[0] += 1
    MODES.anomaly += 1
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            yield
    finally:
        MODES.anomaly -= 1
        with _LOCK:
            _INSTALLED[0] -= 1
            if not _INSTALLED[0]:
                base.HOOKS.remove(_forward_hook)
                autodiff.BACKWARD_HOOKS.remove(_backward_hook)
                _SITES.clear()
