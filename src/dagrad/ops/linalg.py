"""Matrix products: ``matmul`` (1-D, 2-D, batched, NumPy semantics) and the fused affine map
``linear(x, W, b) = x Wᵀ + b`` that ``nn.Linear`` uses (PyTorch's layout: W is (out, in)).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from ..tensor import Tensor
from . import rulemath as rm
from .base import Op, Template, apply, as_input


def _nd(x: Any) -> int:
    return rm.const(x).ndim


# out = a @ b.  Cotangent g has shape batch + out.shape.
def _matmul_grad_a(g, a, b, out):
    if _nd(b) == 1:                      # out[..., m] = a[..., m, k] b[k]
        return g[..., None] * b
    if _nd(a) == 1:                      # out[..., n] = a[k] b[..., k, n]
        return (g[..., None, :] @ rm.swapaxes(b))[..., 0, :]
    return g @ rm.swapaxes(b)


def _matmul_grad_b(g, a, b, out):
    if _nd(a) == 1 and _nd(b) == 1:      # out = a·b
        return g[..., None] * a
    if _nd(a) == 1:                      # b[..., k, n] gets a[k] g[..., n]
        return a[:, None] * g[..., None, :]
    if _nd(b) == 1:                      # b[k] gets sum_m a[..., m, k] g[..., m]
        return (g[..., None, :] @ a)[..., 0, :]
    return rm.swapaxes(a) @ g


def _matmul_tangent_b(t, a, b, out):
    if _nd(b) == 1:                      # t: batch + (k,)
        nb = t.ndim - 1
        col = rm.reshape(t, tuple(t.shape[:nb]) + (1,) * max(_nd(a) - 2, 0) + (t.shape[-1], 1))
        return (a @ col)[..., 0]
    return a @ t


Matmul = Op(
    "matmul", np.matmul, args=("a", "b"), symbol="@",
    saves=("a", "b"),
    vjp=(_matmul_grad_a, _matmul_grad_b),
    jvp=(lambda t, a, b, out: t @ b, _matmul_tangent_b),
    formula=(Template("∂({a}·{b})/∂{a} = {b}ᵀ (right factor)", r"{b}^\top"),
             Template("∂({a}·{b})/∂{b} = {a} (left factor)", r"{a}"),),
    doc="matrix product with NumPy's rules for 1-D and batched operands")


#: Let ``linear`` compute a batched forward as (W xᵀ)ᵀ where that is faster (see ``_orient``).
ORIENT_FAST_PATH = True
#: GEMM sizes (rows · in · out multiply-adds) whose orientation is timed: smaller ones keep
#: x Wᵀ (timing them would cost more than it could save), larger ones too (the swap helps
#: products with few rows; timing a huge one would take seconds).
ORIENT_MIN_WORK = 1 << 20
ORIENT_MAX_WORK = 1 << 27
#: (rows, in, out, dtype) → True when (W xᵀ)ᵀ was verified bit-identical to x Wᵀ and timed
#: clearly faster, False otherwise.  Filled on first use of each shape.
_ORIENT: dict[tuple, bool] = {}
_ORIENT_LOCK = threading.Lock()


def _rowmajor(x, w, b):
    out = x @ w.T
    out += b
    return out


def _featuremajor(x, w, b):
    # BLAS computes the same product with its operands' roles swapped; the bias add writes the
    # row-major result (one pass, as += b does).
    out = np.empty((x.shape[0], w.shape[0]), x.dtype)
    np.add((w @ x.T).T, b, out=out)
    return out


def _timings(fns, args, rounds: int = 3) -> list[float]:
    """Best seconds per call of each fn over ``rounds`` interleaved blocks of ~2 ms."""
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


def _orient(key: tuple, shape_x: tuple, shape_w: tuple, dtype: np.dtype) -> bool:
    """Whether to compute x Wᵀ + b as (W xᵀ)ᵀ + b for this shape; remembered in ``_ORIENT``.

    OpenBLAS packs a transposed right operand slowly when x has few rows, so at small batch
    the swapped product can be much faster (x @ W1ᵀ at 32×784×256 single-threaded: 220 µs
    against 150).  It is used only where it gives the very same bits: both forms are run on
    random operands of this shape (BLAS's order of operations depends on the shapes, not on
    the values) and must agree exactly; then both are timed, including the write of the
    row-major result, and the swapped form is kept when it is more than 15% faster.
    """
    rng = np.random.default_rng(0)  # a private generator: the user's random streams stay put
    x = rng.standard_normal(shape_x).astype(dtype)
    w = rng.standard_normal(shape_w).astype(dtype)
    b = rng.standard_normal(shape_w[:1]).astype(dtype)
    use = False
    if _rowmajor(x, w, b).tobytes() == _featuremajor(x, w, b).tobytes():
        t_row, t_feat = _timings((_rowmajor, _featuremajor), (x, w, b))
        use = t_feat < 0.85 * t_row
    _ORIENT[key] = use
    return use


def _linear_forward(x, w, b):
    if x.ndim == 2 and ORIENT_FAST_PATH:
        m, k = x.shape
        n = w.shape[0]
        if ORIENT_MIN_WORK <= m * k * n <= ORIENT_MAX_WORK:
            dt = x.dtype
            if dt.kind == "f" and dt == w.dtype == b.dtype and x.flags.c_contiguous \
                    and w.flags.c_contiguous and w.ndim == 2 and b.ndim == 1:
                key = (m, k, n, dt)
                use = _ORIENT.get(key)
                if use is None:
                    with _ORIENT_LOCK:  # one thread times a shape; the others wait for it
                        use = _ORIENT.get(key)
                        if use is None:
                            use = _orient(key, x.shape, w.shape, dt)
                if use:
                    return _featuremajor(x, w, b)
    out = x @ w.T
    out += b
    return out


def _linear_grad_w(g, x, w, b, out):
    if x.ndim == 1:                      # W[o, i] gets g[..., o] x[i]
        return g[..., :, None] * x
    return rm.swapaxes(g) @ x


Linear = Op(
    "linear", _linear_forward, args=("x", "W", "b"), symbol="Wx+b",
    saves=("x", "W"),
    vjp=(lambda g, x, w, b, out: g @ w,
         _linear_grad_w,
         lambda g, x, w, b, out: g),     # the engine sums over the batch
    jvp=(lambda t, x, w, b, out: t @ rm.swapaxes(w),
         lambda t, x, w, b, out: x @ rm.swapaxes(t),
         lambda t, x, w, b, out: t),
    formula=(Template("{W}", r"{W}"),
             Template("I ⊗ {x}ᵀ (δ_ij·{x}_k)", r"I \otimes {x}^\top"),
             Template("I", r"I")),
    doc="x Wᵀ + b with W of shape (out, in), as torch.nn.functional.linear")


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b (NumPy semantics: 1-D operands are vectors, leading axes broadcast)."""
    a, b = as_input(a), as_input(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and "
                         f"{b.shape}; use * for scalars")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                         f"{ka} (last axis of the first) != {kb} "
                         f"({'second-to-last' if b.ndim > 1 else 'only'} axis of the second)")
    try:
        return apply(Matmul, (a, b), {})
    except ValueError as e:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape}: {e}") from None


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x Wᵀ + b (W of shape (out, in), b of shape (out,)); without bias it is x @ Wᵀ."""
    if not isinstance(x, Tensor):
        x = as_input(x)
    if not isinstance(weight, Tensor):
        weight = as_input(weight)
    xs, ws = x.data.shape, weight.data.shape
    if len(ws) != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if not xs or xs[-1] != ws[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                         f"{weight.shape} (expected last axis {weight.shape[1]})")
    if bias is None:
        return matmul(x, weight.T)
    if not isinstance(bias, Tensor):
        bias = as_input(bias)
    bs = bias.data.shape
    if len(bs) != 1 or bs[0] != ws[0]:
        raise ValueError(f"linear: bias of shape {bias.shape} does not match weight "
                         f"{weight.shape} (expected ({weight.shape[0]},))")
    return apply(Linear, (x, weight, bias), {})
