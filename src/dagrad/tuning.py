"""Choices made by timing on this machine: one timing loop, and the GEMM orientation of ``linear``.

Eager ``linear`` and ``dg.compile``'s buffer plan both pick between forms that give the same
bits by timing them here; a form is taken only when it is clearly (more than 15%) faster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["best_seconds", "clearly_faster", "swap_gemm", "rowmajor_linear",
           "featuremajor_linear", "ORIENT_MIN_WORK", "ORIENT_MAX_WORK", "ORIENTATIONS"]

#: A candidate must take less than this fraction of the baseline's time to be chosen.
FASTER = 0.85


def best_seconds(fns: Sequence[Callable], args: Sequence[Any] = (),
                 rounds: int = 3) -> list[float]:
    """Best seconds per call of each fn(*args) over ``rounds`` interleaved blocks of ~2 ms."""
    reps = []
    for fn in fns:
        fn(*args)                                   # warm up
        t0 = time.perf_counter()
        fn(*args)
        reps.append(max(1, min(100, int(0.002 / max(time.perf_counter() - t0, 1e-7)))))
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(reps[i]):
                fn(*args)
            best[i] = min(best[i], (time.perf_counter() - t0) / reps[i])
    return best


def clearly_faster(candidate: float, baseline: float) -> bool:
    """Whether a candidate's time beats the baseline's by more than noise (t < 0.85 t₀)."""
    return candidate < FASTER * baseline


# ----- the orientation of linear's GEMM ------------------------------------------------------

#: GEMM sizes (rows · in · out multiply-adds) whose orientation is timed: smaller ones keep
#: x Wᵀ (timing them would cost more than it could save), larger ones too (the swap helps
#: products with few rows; timing a huge one would take seconds).
ORIENT_MIN_WORK = 1 << 20
ORIENT_MAX_WORK = 1 << 27
#: (rows, in, out, dtype) → True when (W xᵀ)ᵀ was verified bit-identical to x Wᵀ and timed
#: clearly faster, False otherwise.  Filled on first use of each shape.
ORIENTATIONS: dict[tuple, bool] = {}
_LOCK = threading.Lock()


def rowmajor_linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x Wᵀ + b as written."""
    out = x @ w.T
    out += b
    return out


def featuremajor_linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(W xᵀ)ᵀ + b, written row-major: BLAS with its operands' roles swapped."""
    out = np.empty((x.shape[0], w.shape[0]), x.dtype)
    np.add((w @ x.T).T, b, out=out)  # the bias add writes the row-major result in one pass
    return out


def _measure(key: tuple, shape_x: tuple, shape_w: tuple, dtype: np.dtype) -> bool:
    """Whether (W xᵀ)ᵀ + b gives x Wᵀ + b's bits at this shape and is clearly faster.

    OpenBLAS packs a transposed right operand slowly when x has few rows, so at small batch
    the swapped product can be much faster (x @ W1ᵀ at 32×784×256 single-threaded: 220 µs
    against 150).  BLAS's order of operations depends on the shapes, not on the values, so
    both forms run on random operands of this shape and must agree exactly; then both are
    timed, including the write of the row-major result.
    """
    rng = np.random.default_rng(0)  # a private generator: the user's random streams stay put
    x = rng.standard_normal(shape_x).astype(dtype)
    w = rng.standard_normal(shape_w).astype(dtype)
    b = rng.standard_normal(shape_w[:1]).astype(dtype)
    use = False
    if rowmajor_linear(x, w, b).tobytes() == featuremajor_linear(x, w, b).tobytes():
        t_row, t_feat = best_seconds((rowmajor_linear, featuremajor_linear), (x, w, b))
        use = clearly_faster(t_feat, t_row)
    ORIENTATIONS[key] = use
    return use


def swap_gemm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> bool:
    """Whether to compute x Wᵀ + b (x 2-D) as (W xᵀ)ᵀ + b; decided once per shape and dtype."""
    m, k = x.shape
    n = w.shape[0]
    if not ORIENT_MIN_WORK <= m * k * n <= ORIENT_MAX_WORK:
        return False
    dt = x.dtype
    key = (m, k, n, dt)
    use = ORIENTATIONS.get(key)
    if use is False:  # decided already: keep x Wᵀ (whatever the operands' layout)
        return False
    if not (dt.kind == "f" and dt == w.dtype == b.dtype and x.flags.c_contiguous
            and w.flags.c_contiguous and w.ndim == 2 and b.ndim == 1):
        return False
    if use is None:
        with _LOCK:  # one thread times a shape; the others wait for it
            use = ORIENTATIONS.get(key)
            if use is None:
                use = _measure(key, x.shape, w.shape, dt)
    return use
