"""The bonus: ∇_W1 L through the Jacobian J_o1(W1), as products written in the sheet's convention.

The gradient of the scalar L is a row vector: δ1 = ∇_o1 L is 1×n.  J_o1(W1)[i, j, k] =
∂o1_i/∂W1_jk = δ_ij·x_k is an n × n × m tensor (256 × 256 × 784: 51,380,224 entries, 392 MiB in
float64); flattened over (j, k) in row-major order (vec(W1) lists W1's rows one after another)
it is the n × n·m matrix I_n ⊗ xᵀ.  Then, every product computable with the sizes shown:

    vec(∇_W1 L) (1×n·m) = δ1 (1×n) · J_o1(W1) (n×n·m)        the chain rule
                        = δ1 (1×n) ⊗ xᵀ (1×m)                 mixed product: δ1·(I ⊗ xᵀ)
    ∇_W1 L (n×m)        = δ1ᵀ (n×1) · xᵀ (1×m)                vec(∇_W1 L) cut into n rows
    J_L(W1) (1×n×m)     = δ1 (1×n) · J_o1(W1) (n×n×m)         summed over i

Each is a :class:`~dagrad.explain.mlp_jacobians.products.Product`, evaluated with those sizes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...i18n import N_
from . import jacobians as jac
from .products import Operand, Product

__all__ = ["WeightGradient", "weight_gradient", "weight_products", "LABELS"]

# what each form of ∇_W1 L is, in a few words (the check names use these)
LABELS = {  # English msgids, translated where shown
    "J": N_("J_o1(W1) = I ⊗ xᵀ (Kronecker product)"),
    "vec": N_("δ1 · J_o1(W1) (dense Jacobian, flattened)"),
    "kron": N_("δ1 ⊗ xᵀ (Kronecker form, implicit)"),
    "outer": N_("δ1ᵀ · xᵀ (outer product)"),
    "tensor": N_("δ1 · J_o1(W1) (dense 3-tensor, summed over i)"),
}
GRADIENT_FORMS = ("vec", "kron", "outer", "tensor")


class _Cached:
    """A builder that keeps its value until :meth:`drop` (the dense tensor is built once)."""

    def __init__(self, build: Callable[[], np.ndarray]):
        self.build = build
        self.value: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self.value is None:
            self.value = self.build()
        return self.value

    def drop(self) -> None:
        self.value = None


def weight_products(delta: np.ndarray, x: np.ndarray, reference: np.ndarray | None,
                    tensor: Callable[[], np.ndarray]) -> dict[str, Product]:
    """The displayed products of the bonus (keys of :data:`LABELS`), reference = backprop."""
    n, m = delta.size, x.size
    N = n * m
    row = delta.reshape(1, n)
    xt = x.reshape(1, m)
    d_row = Operand("δ1", r"\delta^{(1)}", (1, n), row)
    x_t = Operand("xᵀ", r"x^\top", (1, m), xt)
    ref = None if reference is None else np.asarray(reference, np.float64)
    sub = lambda shape: None if ref is None else ref.reshape(shape)
    jw = r"J_{o^{(1)}}(W^{(1)})"
    vec, vec_tex = "vec(∇_W1 L)", r"\operatorname{vec}(\nabla_{W^{(1)}} L)"
    return {
        "J": Product("J_o1(W1)", jw, (n, N),
                     [Operand(f"I_{n}", rf"I_{{{n}}}", (n, n), lambda: np.eye(n)), x_t], op="⊗",
                     note=N_("{d} with the columns ordered as vec(W1) (row j of W1 is columns "
                             "{cols}): row i holds xᵀ in block i and zeros elsewhere"),
                     note_args={"d": "∂o1_i/∂W1_jk = δ_ij·x_k",
                                "cols": f"j·{m:,} … j·{m:,} + {m - 1:,}"}, dense=True),
        "vec": Product(vec, vec_tex, (1, N),
                       [d_row, Operand("J_o1(W1)", jw, (n, N), tensor)],
                       reference=sub((1, N)), oracle="dagrad reverse mode",
                       note=N_("the chain rule, with the gradient of L with respect to "
                               "vec(W1) as a row"), dense=True),
        "kron": Product(vec, vec_tex, (1, N), [d_row, x_t], op="⊗", reference=sub((1, N)),
                        oracle="dagrad reverse mode",
                        note=N_("the mixed-product rule {rule} with {split}: {left} and "
                                "{right}, so the same row without forming the {size} matrix"),
                        note_args={"rule": "(A ⊗ B)·(C ⊗ D) = (A·C) ⊗ (B·D)",
                                   "split": "δ1 = δ1 ⊗ 1 (1×1)",
                                   "left": f"δ1 (1×{n}) · I_{n} ({n}×{n}) = δ1",
                                   "right": f"1 (1×1) · xᵀ (1×{m}) = xᵀ",
                                   "size": f"{n}×{N:,}"}),
        "outer": Product("∇_W1 L", r"\nabla_{W^{(1)}} L", (n, m),
                         [Operand("δ1ᵀ", r"\delta^{(1)\top}", (n, 1), row.T), x_t],
                         reference=sub((n, m)), oracle="dagrad reverse mode",
                         note=N_("vec(∇_W1 L) cut into {n} rows of {m} (the shape of W1): "
                                 "{entries}"),
                         note_args={"n": str(n), "m": str(m),
                                    "entries": "(∇_W1 L)_jk = δ1_j·x_k"}),
        "tensor": Product("J_L(W1)", r"J_L(W^{(1)})", (1, n, m),
                          [d_row, Operand("J_o1(W1)", jw, (n, n, m), tensor)],
                          reference=sub((1, n, m)), oracle="dagrad reverse mode",
                          note=N_("the 3-tensor contracted over i: {sum}; {grad} is J_L(W1) "
                                  "without its leading 1"),
                          note_args={"sum": "Σ_i δ1_i·δ_ij·x_k = δ1_j·x_k",
                                     "grad": f"∇_W1 L ({n}×{m})"},
                          dense=True),
    }


@dataclass
class WeightGradient:
    """∇_W1 L by every displayed product (Kronecker, outer, dense), beside backprop's."""

    x: np.ndarray = field(repr=False)
    delta: np.ndarray = field(repr=False)      # the entries of δ1 = ∇_o1 L (a 1 × n row)
    backprop: np.ndarray = field(repr=False)   # dagrad reverse mode's ∇_W1 L (n × m)
    products: dict[str, Product] = field(repr=False)
    results: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # evaluated
    dense: bool = False
    flat_vs_kron: float | None = None   # max |T.reshape(n, n·m) − I ⊗ xᵀ| (consistency)
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

    def as_matrix(self, key: str) -> np.ndarray | None:
        """The evaluated form ``key`` arranged like W1 (n × m), or None if not evaluated."""
        r = self.results.get(key)
        return None if r is None else r.reshape(self.n_out, self.n_in)

    def diff(self, key: str) -> float | None:
        """max |form ``key`` − backprop| (None if that form was not evaluated)."""
        r = self.as_matrix(key)
        return None if r is None else float(np.max(np.abs(r - self.backprop)))

    @property
    def kron(self) -> np.ndarray:
        """∇_W1 L from δ1 ⊗ xᵀ (1 × n·m), arranged like W1 (n × m)."""
        return self.as_matrix("kron")

    @property
    def tensor_grad(self) -> np.ndarray | None:
        """∇_W1 L from δ1 · J_o1(W1) over the dense 3-tensor (n × m), if built."""
        return self.as_matrix("tensor")

    @property
    def diff_kron(self) -> float:
        return self.diff("kron")

    @property
    def diff_tensor(self) -> float | None:
        return self.diff("tensor")

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
    """Evaluate δ1 ⊗ xᵀ and δ1ᵀ · xᵀ, and with ``dense`` δ1 · J_o1(W1) over the built tensor."""
    delta = np.asarray(delta, np.float64).reshape(-1)
    x = np.asarray(x, np.float64).reshape(-1)
    T = _Cached(lambda: jac.weight_tensor(x, len(delta)))
    products = weight_products(delta, x, backprop, T)
    t0 = time.perf_counter()
    res = WeightGradient(x, delta, np.asarray(backprop, np.float64), products, dense=dense)
    for key in ("kron", "outer"):
        res.results[key] = products[key].evaluate()
    res.seconds_kron = time.perf_counter() - t0
    if dense:
        t0 = time.perf_counter()
        for key in ("vec", "tensor"):
            res.results[key] = products[key].evaluate()
        t = T()
        res.flat_vs_kron = _flat_vs_kron(t, x)
        res.tensor_norm = float(np.linalg.norm(t.reshape(-1)))
        res.tensor_nnz = int(np.count_nonzero(t))
        k = int(np.argmax(np.abs(x)))
        res.tensor_entries = [((i, j, k), float(t[i, j, k])) for i, j in ((0, 0), (0, 1), (1, 1))
                              if i < t.shape[0] and j < t.shape[1]]
        del t
        T.drop()
        res.seconds_dense = time.perf_counter() - t0
    return res
