"""Resource limits: refuse to build a dense array that would not fit, and say how much it needs."""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["check_dense", "dense_limit", "set_dense_limit", "MemoryLimitError"]

_LIMIT = [int(float(os.environ.get("DAGRAD_DENSE_LIMIT", 2**30)))]


class MemoryLimitError(MemoryError):
    """A dense result would exceed the configured memory limit."""


def _fmt(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def set_dense_limit(nbytes: int) -> None:
    """Largest dense Jacobian/tensor dagrad builds without being asked (default 1 GiB)."""
    _LIMIT[0] = int(nbytes)


@contextmanager
def dense_limit(nbytes: int):
    """Context manager: temporarily allow dense arrays up to ``nbytes``."""
    prev = _LIMIT[0]
    _LIMIT[0] = int(nbytes)
    try:
        yield
    finally:
        _LIMIT[0] = prev


def check_dense(shape: tuple[int, ...], dtype: Any, what: str) -> None:
    """Raise MemoryLimitError before allocating a dense array above the limit."""
    n = math.prod(int(k) for k in shape) * np.dtype(dtype).itemsize
    if n > _LIMIT[0]:
        raise MemoryLimitError(
            f"{what}: the dense result of shape {shape} ({np.dtype(dtype)}) would take "
            f"{_fmt(n)}, above the limit of {_fmt(_LIMIT[0])}. Raise it with "
            f"dg.set_dense_limit(nbytes), `with dg.dense_limit(nbytes):`, or DAGRAD_DENSE_LIMIT")
