"""Resource limits: refuse to build a dense array that would not fit, and say how much it needs.

The limit bounds the peak, not only the result: a dense Jacobian is written chunk by chunk into
its preallocated result, and :func:`chunk_rows` sizes the chunks so that the result plus the
working memory of one chunk (basis vectors, the cotangents or tangents they push through the
graph, the rows they produce) stays within the limit.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["check_dense", "chunk_rows", "dense_limit", "set_dense_limit", "MemoryLimitError"]

_LIMIT = [int(float(os.environ.get("DAGRAD_DENSE_LIMIT", 2**30)))]
WORKING_SHARE = 8  # one chunk's working memory: up to 1/8 of the result ...
WORKING_FLOOR = 16 * 2**20  # ... or 16 MiB, whichever is larger (never past the limit)


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


_HOW = "Raise it with dg.set_dense_limit(nbytes), `with dg.dense_limit(nbytes):`, or " \
       "DAGRAD_DENSE_LIMIT"


def check_dense(shape: tuple[int, ...], dtype: Any, what: str) -> None:
    """Raise MemoryLimitError before allocating a dense array above the limit."""
    n = math.prod(int(k) for k in shape) * np.dtype(dtype).itemsize
    if n > _LIMIT[0]:
        raise MemoryLimitError(
            f"{what}: the dense result of shape {shape} ({np.dtype(dtype)}) would take "
            f"{_fmt(n)}, above the limit of {_fmt(_LIMIT[0])}. {_HOW}")


def chunk_rows(count: int, row_bytes: int, result_bytes: int, what: str) -> int:
    """Basis vectors per pass: the largest k ≤ count with result + k·row_bytes ≤ limit.

    One chunk's share k·row_bytes is also at most max(result/8, 16 MiB).  ``row_bytes`` is the
    working memory one basis vector costs in a pass; the result has been
    checked with :func:`check_dense` already.  Raises MemoryLimitError when not even one fits.
    """
    spare = _LIMIT[0] - int(result_bytes)
    budget = min(max(int(result_bytes) // WORKING_SHARE, WORKING_FLOOR), spare)
    rows = min(int(count), budget // max(int(row_bytes), 1))
    if rows < 1:
        raise MemoryLimitError(
            f"{what}: the dense result would take {_fmt(result_bytes)} and each basis vector "
            f"pushed through the graph needs {_fmt(row_bytes)} of working memory, together "
            f"above the limit of {_fmt(_LIMIT[0])}. {_HOW}")
    return rows
