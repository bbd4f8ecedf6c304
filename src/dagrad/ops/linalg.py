"""Matrix products: ``matmul`` (1-D, 2-D, batched, NumPy semantics) and the fused affine map
``linear(x, W, b) = x Wᵀ + b`` that ``nn.Linear`` uses (PyTorch's layout: W is (out, in)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import fastpaths, tuning
from ..tensor import Tensor
from . import rulemath as rm
from .base import Op, Template, apply, as_input

_ND = np.ndarray


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


def _linear_forward(x, w, b):
    if x.ndim == 2 and fastpaths.ORIENT_FAST_PATH and tuning.swap_gemm(x, w, b):
        return tuning.featuremajor_linear(x, w, b)
    out = x @ w.T
    out += b
    return out


def _linear_grad_w(g, x, w, b, out):
    if type(g) is _ND and type(x) is _ND and g.ndim == 2 and x.ndim == 2:
        return g.T @ x                   # the eager case: gᵀx, as rm.swapaxes(g) @ x
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
    xd, wd = x._d, weight._d  # the held arrays (.data only for a number held by the scalar path)
    xs = xd.shape if type(xd) is _ND else x.data.shape
    ws = wd.shape if type(wd) is _ND else weight.data.shape
    if len(ws) != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if not xs or xs[-1] != ws[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                         f"{weight.shape} (expected last axis {weight.shape[1]})")
    if bias is None:
        return matmul(x, weight.T)
    if not isinstance(bias, Tensor):
        bias = as_input(bias)
    bd = bias._d
    bs = bd.shape if type(bd) is _ND else bias.data.shape
    if len(bs) != 1 or bs[0] != ws[0]:
        raise ValueError(f"linear: bias of shape {bias.shape} does not match weight "
                         f"{weight.shape} (expected ({weight.shape[0]},))")
    return apply(Linear, (x, weight, bias), {})
