"""A batch (N, in): N per-sample chains of vector–Jacobian products and the batch-mean loss.

Sample n's outputs depend on sample n's input only, so every step's Jacobian over the batch is
block-diagonal and the chain splits into N independent per-sample chains; the batch-mean loss
L̄ = (1/N) Σ_n L_n then has ∇_{x_n} L̄ = (1/N) ∇_{x_n} L_n, ∇_b1 L̄ = (1/N) Σ_n δ1_n and
∇_W1 L̄ = (1/N) Σ_n δ1_nᵀ · x_nᵀ = (1/N) Δᵀ X, with δ1_n the 1×n1 gradient row of sample n,
Δ (N×n1) their stack and X (N×in) the inputs as rows.  No dense Jacobian over the batch is ever
built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...i18n import N_
from ..rendering import DagRendering
from .factors import Chain, Check, CheckedReport, build_chain, sample_factors, tolerance
from .model import MLPSpec, backprop, numpy_forward
from .single import single_report

__all__ = ["BatchJacobianChain", "batch_chain"]


@dataclass
class BatchJacobianChain(CheckedReport, DagRendering):
    """Per-sample gradients from N chains, the batch-mean loss's gradients, and the checks."""

    spec: MLPSpec = field(repr=False)
    X: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)           # L_n, NumPy forward
    probabilities: np.ndarray = field(repr=False)    # z^(n) per sample
    grad_x: np.ndarray = field(repr=False)           # (N, in): ∇_{x_n} L_n from sample n's chain
    delta: np.ndarray = field(repr=False)            # (N, n1): δ1_n = ∇_{o1} L_n (= ∇_b1 L_n)
    backprop_grad_x: np.ndarray = field(repr=False)  # per-sample, reverse mode
    backprop_delta: np.ndarray = field(repr=False)
    mean_backprop: dict[str, np.ndarray] = field(repr=False)  # ∇ of mean_n L_n: x, W1, b1
    chain_sizes: list[str] = field(default_factory=list)
    adjoint_diffs: np.ndarray = field(default=None, repr=False)  # (N,) worst step per sample
    checks: list[Check] = field(default_factory=list)
    description: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    model: Any = field(default=None, repr=False)
    example: Chain | None = field(default=None, repr=False)  # sample 0's fine ∇_x L chain

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def depth(self) -> int:
        return self.spec.depth

    @property
    def mean_loss(self) -> float:
        """L̄ = (1/N) Σ_n L_n."""
        return float(self.losses.mean())

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def grad_b1(self) -> np.ndarray:
        """(N, n1): ∇_b1 L_n = δ1_n · I, per sample."""
        return self.delta

    def grad_W1(self, n: int) -> np.ndarray:
        """∇_W1 L_n = δ1_nᵀ · x_nᵀ for sample n (n1×1 · 1×in = n1 × in)."""
        return np.outer(self.delta[n], self.X[n])

    @property
    def mean_grad_x(self) -> np.ndarray:
        """∇_X L̄ (N, in): row n is (1/N)·∇_{x_n} L_n."""
        return self.grad_x / self.n

    @property
    def mean_grad_b1(self) -> np.ndarray:
        """∇_b1 L̄ = (1/N) Σ_n δ1_n."""
        return self.delta.mean(axis=0)

    @property
    def mean_grad_W1(self) -> np.ndarray:
        """∇_W1 L̄ = (1/N) Σ_n δ1_nᵀ · x_nᵀ = (1/N) Δᵀ X (n1×N · N×in)."""
        return self.delta.T @ self.X / self.n


    def sample(self, n: int, dense: bool = False, check_steps: bool = True) -> Any:
        """The full single-input report (every factor, both levels, the bonus) for sample n."""
        if not 0 <= n < self.n:
            raise IndexError(f"sample {n} out of range for a batch of {self.n}")
        return single_report(self.spec, self.X[n], int(self.labels[n]), dense, check_steps,
                       self.description)

    # ----- rendering: Markdown, LaTeX, HTML, text and render_dag come from DagRendering -----
    _renderer = "mlp_jacobians.batch_report"

    def dag_dot(self, level: str = "layer") -> str:
        """The DAG of one sample's loss (the same for every sample)."""
        from .dag import dag_dot

        return dag_dot(self.spec, level)


def _sample_adjoints(adj: dict[str, np.ndarray], n: int, has_bias: bool) -> dict[str, np.ndarray]:
    """Backprop's adjoints of sample n's nodes (∇_b1 L_n = δ1_n: the o1 row)."""
    out = {k: a[n] for k, a in adj.items() if k != "b1"}
    if has_bias:
        out["b1"] = adj["o1"][n]
    return out


def batch_chain(spec: MLPSpec, X: np.ndarray, y: np.ndarray, model: Any = None,
                description: str | None = None) -> BatchJacobianChain:
    """N per-sample chains (fine level, VJPs left to right) beside one batched backprop."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    vals = numpy_forward(spec, X, y)
    t[N_("NumPy forward")] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bp = backprop(spec, X, y, mean=True)
    t[N_("backprop (per-sample and mean)")] = time.perf_counter() - t0
    t0 = time.perf_counter()
    N, n = len(y), spec.depth
    gx = np.zeros_like(X)
    delta = np.zeros((N, spec.sizes[1]))
    worst = np.zeros(N)
    sizes: list[str] = []
    example = None
    targets = ("x", "b1") if spec.has_bias else ("x",)
    for i in range(N):
        v = {k: a[i] for k, a in vals.items()}
        fs = sample_factors(spec, v, int(y[i]), layer=False)
        adj = _sample_adjoints(bp.adjoints, i, spec.has_bias)
        chains = {tg: build_chain(fs, n, tg, "fine", adj) for tg in targets}
        cx = chains["x"]
        gx[i] = cx.product[0]
        delta[i] = cx.adjoints[-2][0]        # δ1_n = ∇_o1 L_n
        worst[i] = max(max(c.adjoint_diffs) for c in chains.values())
        if i == 0:
            sizes, example = cx.sizes, cx
        elif cx.sizes != sizes:  # pragma: no cover - the shapes are the architecture's
            raise AssertionError("per-sample chains of different sizes")
    t[f"{N} per-sample chains"] = time.perf_counter() - t0
    rep = BatchJacobianChain(spec, X, y, vals["L"], vals[f"z{n}"], gx, delta,
                             bp.adjoints["x"], bp.adjoints["o1"], bp.mean_grads, sizes, worst,
                             description=description, seconds=t, model=model, example=example)
    rep.checks = _checks(rep, bp.losses)
    return rep


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)))


CLOSED, BACKPROP = "closed forms", "dagrad reverse mode"


def _checks(r: BatchJacobianChain, bp_losses: np.ndarray) -> list[Check]:
    """The independent checks (each naming its oracle), then the consistency check."""
    mb = r.mean_backprop
    mean = N_("{grad} vs backprop of the mean loss, max |Δ|")
    cs = [Check.of(N_("{L}: NumPy forward vs dagrad's forward through the model, max |Δ|"),
                   _diff(r.losses, bp_losses), tolerance(r.losses), "NumPy forward",
                   "dagrad forward", L="L_n"),
          Check.of(N_("per-sample {grad}: chain vs per-sample backprop, max |Δ|"),
                   _diff(r.grad_x, r.backprop_grad_x), tolerance(r.backprop_grad_x), CLOSED,
                   BACKPROP, grad="∇_{x_n} L_n"),
          Check.of(N_("per-sample {grad}: chain vs per-sample backprop, max |Δ|"),
                   _diff(r.delta, r.backprop_delta), tolerance(r.backprop_delta), CLOSED,
                   BACKPROP, grad="δ1_n = ∇_b1 L_n"),
          Check.of(N_("every intermediate adjoint of every sample vs backprop, max |Δ|"),
                   float(r.adjoint_diffs.max()),
                   tolerance(1.0 / r.probabilities[np.arange(r.n), r.labels]), CLOSED,
                   BACKPROP),
          Check.of(mean, _diff(r.mean_grad_x, mb["x"]), tolerance(mb["x"]), CLOSED, BACKPROP,
                   grad="∇_X L̄ = (1/N)·per-sample chains"),
          Check.of(mean, _diff(r.mean_grad_W1, mb["W1"]), tolerance(mb["W1"]), CLOSED,
                   BACKPROP, grad="∇_W1 L̄ = (1/N) Δᵀ X")]
    if "b1" in mb:
        cs.append(Check.of(mean, _diff(r.mean_grad_b1, mb["b1"]), tolerance(mb["b1"]), CLOSED,
                           BACKPROP, grad="∇_b1 L̄ = (1/N) Σ δ1_n"))
    cs.append(Check.of(N_("every per-sample chain multiplies: {sizes}"), r.example.sizes_chain,
                       sizes=r.example.size_expression()))
    return cs
