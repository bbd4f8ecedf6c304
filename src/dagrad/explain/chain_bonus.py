"""The bonus: ∇_W1 L through the Jacobian J_o1(W1), as a dense 3-tensor and as a Kronecker form.

J_o1(W1)[i, j, k] = ∂o1_i/∂W1_jk = δ_ij·x_k has shape n × n × m (256 × 256 × 784: 51,380,224
entries, 392 MiB in float64); flattened over (j, k) it is the sheet's Jacobi-Matrix
I_n ⊗ xᵀ (n × n·m).  With δ1 = ∇_o1 L: ∇_W1 L = δ1ᵀ·J_o1(W1) = δ1ᵀ(I ⊗ xᵀ) = δ1 ⊗ x.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import jacobians as jac

__all__ = ["WeightGradient", "weight_gradient"]


@dataclass
class WeightGradient:
    """∇_W1 L by the implicit Kronecker form, by contracting the dense tensor, and by backprop."""

    x: np.ndarray = field(repr=False)
    delta: np.ndarray = field(repr=False)      # δ1 = ∇_o1 L from the chain (1 × n row)
    kron: np.ndarray = field(repr=False)       # δ1 ⊗ x
    backprop: np.ndarray = field(repr=False)   # dagrad reverse mode's ∇_W1 L
    dense: bool = False
    tensor_grad: np.ndarray | None = field(default=None, repr=False)  # δ1ᵀ·T contracted
    flat_vs_kron: float | None = None   # max |T.reshape(n, n·m) − I ⊗ xᵀ|
    tensor_norm: float | None = None    # ‖T‖_F
    tensor_nnz: int | None = None
    tensor_entries: list[tuple[tuple[int, int, int], float]] = field(default_factory=list)
    seconds_kron: float = 0.0
    seconds_dense: float | None = None

    @property
    def n_out(self) -> int:
        return len(self.delta)

    @property
    def n_in(self) -> int:
        return len(self.x)

    @property
    def tensor_shape(self) -> tuple[int, int, int]:
        return (self.n_out, self.n_out, self.n_in)

    @property
    def flat_shape(self) -> tuple[int, int]:
        return (self.n_out, self.n_out * self.n_in)

    @property
    def nbytes(self) -> int:
        return jac.weight_tensor_nbytes(self.n_out, self.n_in)

    @property
    def diff_kron(self) -> float:
        return float(np.max(np.abs(self.kron - self.backprop)))

    @property
    def diff_tensor(self) -> float | None:
        if self.tensor_grad is None:
            return None
        return float(np.max(np.abs(self.tensor_grad - self.backprop)))

    def tensor(self) -> np.ndarray:
        """Build the dense J_o1(W1) again (n × n × m float64; checked against the dense limit)."""
        return jac.weight_tensor(self.x, self.n_out)


def _flat_vs_kron(T: np.ndarray, x: np.ndarray, block: int = 32) -> float:
    """max |T.reshape(n, n·m) − I_n ⊗ xᵀ|, compared block of rows by block of rows."""
    n = T.shape[0]
    flat = T.reshape(n, -1)
    worst = 0.0
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        worst = max(worst, float(np.max(np.abs(flat[rows] - jac.kron_rows(x, n, rows)))))
    return worst


def weight_gradient(delta: np.ndarray, x: np.ndarray, backprop: np.ndarray,
                    dense: bool) -> WeightGradient:
    """∇_W1 L = δ1 ⊗ x (implicit), and with ``dense`` also δ1ᵀ·T over the explicit tensor T."""
    delta = np.asarray(delta, np.float64).reshape(-1)
    x = np.asarray(x, np.float64).reshape(-1)
    t0 = time.perf_counter()
    kron = jac.weight_gradient_kron(delta, x)
    res = WeightGradient(x, delta, kron, np.asarray(backprop, np.float64), dense,
                         seconds_kron=time.perf_counter() - t0)
    if dense:
        t0 = time.perf_counter()
        T = jac.weight_tensor(x, len(delta))
        res.tensor_grad = jac.contract_weight_tensor(delta, T)
        res.flat_vs_kron = _flat_vs_kron(T, x)
        res.tensor_norm = float(np.linalg.norm(T.reshape(-1)))
        res.tensor_nnz = int(np.count_nonzero(T))
        k = int(np.argmax(np.abs(x)))
        res.tensor_entries = [((i, j, k), float(T[i, j, k])) for i, j in ((0, 0), (0, 1), (1, 1))
                              if i < T.shape[0] and j < T.shape[1]]
        del T
        res.seconds_dense = time.perf_counter() - t0
    return res
