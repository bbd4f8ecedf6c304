"""Numeric local derivatives ∂out/∂input of one recorded op, taken from the op table's vjp rules.

The value of an edge is the op's reverse-mode rule applied to a cotangent of ones (elementwise
ops, scalars) or to the stacked basis cotangents (every other op: one batched call gives the full
Jacobian).  Nothing here is written per op.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..autodiff import sum_to
from ..limits import check_dense, chunk_rows
from ..ops.base import Op
from ..tensor import Tensor

__all__ = ["SCALAR", "DIAGONAL", "JACOBIAN", "NONE", "derivative_kind", "local_derivative"]

SCALAR = "scalar"  # both ends hold one number: the value is a float
DIAGONAL = "diagonal"  # elementwise op: value[i] = ∂out_i/∂in_i (the Jacobian's diagonal)
JACOBIAN = "jacobian"  # any other op: the full Jacobian of shape out.shape + in.shape
NONE = "none"  # the op defines no derivative for this input (labels, conditions)


def derivative_kind(op: Op, inputs: Sequence[Tensor], out: Tensor, slot: int) -> str:
    """Which form the local derivative ∂out/∂inputs[slot] takes: scalar, diagonal or jacobian."""
    if op.vjp_rule(slot) is None:
        return NONE
    if out.data.size == 1 and inputs[slot].data.size == 1:
        return SCALAR
    return DIAGONAL if op.elementwise else JACOBIAN


def local_derivative(op: Op, inputs: Sequence[Tensor], out: Tensor, attrs: Mapping[str, Any],
                     slot: int) -> float | np.ndarray | None:
    """∂out/∂inputs[slot] at the recorded point, by the op's vjp rule (g = 1 or basis vectors)."""
    kind = derivative_kind(op, inputs, out, slot)
    if kind == NONE:
        return None
    rule = op.vjp_rule(slot)
    vals = [x.data for x in inputs]
    y = out.data
    x = vals[slot]
    with np.errstate(all="ignore"):
        if kind in (SCALAR, DIAGONAL):
            c = np.asarray(rule(np.ones(y.shape, y.dtype), *vals, y, **attrs))
            c = np.array(np.broadcast_to(c, y.shape))
            return float(c.reshape(())) if kind == SCALAR else c
        m, what = y.size, f"Jacobian of {op.name} w.r.t. input {slot}"
        check_dense((m, x.size), y.dtype, what)
        # rows of basis cotangents in chunks, written into one result (the limit bounds the peak)
        step = chunk_rows(m, 2 * y.dtype.itemsize * (m + x.size), m * x.size * y.dtype.itemsize,
                          what)
        jac = None
        for start in range(0, m, step):
            k = min(step, m - start)
            basis = np.zeros((k, m), y.dtype)
            basis[np.arange(k), start + np.arange(k)] = 1
            c = np.asarray(sum_to(np.asarray(rule(basis.reshape((k,) + y.shape), *vals, y,
                                                  **attrs)), x.shape, 1)).reshape(k, x.size)
            if k == m:
                return c.reshape(y.shape + x.shape)
            if jac is None:
                jac = np.empty((m, x.size), c.dtype)
            jac[start:start + k] = c
    return jac.reshape(y.shape + x.shape)
