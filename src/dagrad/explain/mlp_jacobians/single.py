"""Exercise (c) for one input: the report of the Jacobian chains, the bonus and every check.

``single_report(spec, x, y, ...)`` evaluates the closed-form Jacobians of one sample, multiplies
them, runs backprop, finite differences and ``dg.jacobian`` of each step, and returns the
:class:`JacobianChainReport`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ...i18n import N_
from ..rendering import DagRendering
from .factors import Chain, Check, CheckedReport, Factor, build_chain, sample_factors, tolerance
from .finite_difference import FiniteDifference, directional_derivative
from .model import MLPSpec, backprop, numpy_forward
from .products import Operand, Product
from .weight_gradient import GRADIENT_FORMS, LABELS, WeightGradient, weight_gradient

__all__ = ["JacobianChainReport", "single_report"]

TARGETS = ("x", "b1")
LEVELS = ("layer", "fine")


@dataclass
class JacobianChainReport(CheckedReport, DagRendering):
    """The chains for one input: factors, products, backprop, the bonus and every check."""

    spec: MLPSpec = field(repr=False)
    x: np.ndarray = field(repr=False)
    label: int
    values: dict[str, np.ndarray] = field(repr=False)   # o1, z1, …, zn (NumPy forward)
    loss: float
    loss_backprop: float
    factors: dict[str, Factor] = field(repr=False)
    chains: dict[tuple[str, str], Chain] = field(repr=False)
    weight: WeightGradient = field(repr=False)
    checks: list[Check] = field(default_factory=list)
    step_diffs: dict[str, float] = field(default_factory=dict)
    finite_differences: dict[str, FiniteDifference] = field(default_factory=dict, repr=False)
    description: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    # ----- data --------------------------------------------------------------------
    @property
    def sheet_y(self) -> int:
        """The sheet's 1-based label y ∈ [1:10] (label + 1)."""
        return self.label + 1

    @property
    def depth(self) -> int:
        return self.spec.depth

    @property
    def probabilities(self) -> np.ndarray:
        return self.values[f"z{self.depth}"]

    @property
    def prediction(self) -> int:
        return int(np.argmax(self.probabilities))


    @property
    def delta(self) -> Product:
        """δ1 = ∇_o1 L (1×n1) as the displayed product of the fine chain up to J_z1(o1)."""
        ch = self.chain("x", "fine")
        fs = ch.factors[:-1]
        return Product("δ1 = ∇_o1 L", r"\delta^{(1)} = \nabla_{o^{(1)}} L",
                       (1, fs[-1].shape[1]),
                       [Operand(f.name, f.latex_name, f.shape, f.matrix) for f in fs],
                       reference=ch.backprop[-2], oracle="dagrad reverse mode")

    def products(self) -> list[Product]:
        """Every product the report displays, in order: the chains, δ1 and the bonus's forms."""
        out = [ch.display() for ch in self.chains.values()]
        return out + [self.delta] + list(self.weight.products.values())

    def chain(self, target: str = "x", level: str = "layer") -> Chain:
        """The chain for ∇_target L (target "x" or "b1") at level "layer" or "fine"."""
        key = (target, level)
        if key not in self.chains:
            raise KeyError(f"no chain for target {target!r} at level {level!r}; have "
                           f"{', '.join(f'{t}/{lv}' for t, lv in self.chains)}")
        return self.chains[key]

    @property
    def grad_x(self) -> np.ndarray:
        """∇_x L from the chain of Jacobians, shape (in,)."""
        return self.chain("x", "fine").product.reshape(-1)

    @property
    def grad_b1(self) -> np.ndarray:
        """∇_b1 L from the chain of Jacobians, shape (n1,)."""
        return self.chain("b1", "fine").product.reshape(-1)

    @property
    def grad_W1(self) -> np.ndarray:
        """∇_W1 L = δ1ᵀ · xᵀ (n1 × in), the shape of W1."""
        return self.weight.as_matrix("outer")

    def table(self) -> list[tuple[str, str, str, str, str]]:
        """(chain, Jacobian, formula, size, parts) for every factor of every chain."""
        rows = []
        for (t, lv), ch in self.chains.items():
            for f in ch.factors:
                rows.append((f"∇_{t} L ({lv})", f.name, f.formula, f.size,
                             " · ".join(f.parts)))
        return rows

    # ----- rendering: Markdown, LaTeX, HTML, text and render_dag come from DagRendering -----
    _renderer = "mlp_jacobians.report"

    def dag_dot(self, level: str = "layer") -> str:
        """The DAG x → z1 → … → L ← y as Graphviz DOT (level "fine" adds o^(l), W^(l), b^(l))."""
        from .dag import dag_dot

        return dag_dot(self.spec, level, self.label)


def _check_factors(factors: dict[str, Factor]) -> dict[str, float]:
    """max |closed form − dg.jacobian(step)| for every factor."""
    from ...functional import jacobian

    out = {}
    for name, f in factors.items():
        j = np.asarray(jacobian(f.step)(np.array(f.at, np.float64))).reshape(f.shape)
        out[name] = float(np.max(np.abs(j - f.matrix)))
    return out


def single_report(spec: MLPSpec, x: np.ndarray, y: int, dense: bool, check_steps: bool,
            description: str | None) -> JacobianChainReport:
    t = {}
    t0 = time.perf_counter()
    vals = numpy_forward(spec, x[None, :], np.array([y]))
    v = {k: a[0] for k, a in vals.items()}
    factors = sample_factors(spec, v, y)
    t[N_("closed forms")] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bp = backprop(spec, x[None, :], np.array([y]))
    adj = {k: a.reshape(a.shape[1:]) if k != "b1" else a for k, a in bp.adjoints.items()}
    t[N_("backprop")] = time.perf_counter() - t0
    t0 = time.perf_counter()
    targets = TARGETS if spec.has_bias else ("x",)
    chains = {(tg, lv): build_chain(factors, spec.depth, tg, lv, adj)
              for tg in targets for lv in LEVELS}
    t[N_("products")] = time.perf_counter() - t0
    delta = chains[("x", "fine")].adjoints[-2]     # δ1 = ∇_o1 L, the row before J_o1(x)
    weight = weight_gradient(delta, x, bp.grad_W1, dense)
    t[N_("bonus (Kronecker, implicit)")] = weight.seconds_kron
    if weight.seconds_dense is not None:
        t[N_("bonus (dense tensor)")] = weight.seconds_dense
    t0 = time.perf_counter()
    fd = {tg: directional_derivative(spec, x, int(y), tg)
          for tg in ("x", "b1", "W1") if tg != "b1" or spec.has_bias}
    t[N_("finite differences")] = time.perf_counter() - t0
    loss = float(v["L"])
    report = JacobianChainReport(spec, x, int(y), v, loss, float(bp.losses[0]), factors, chains,
                                 weight, finite_differences=fd, description=description,
                                 seconds=t)
    if check_steps:
        t0 = time.perf_counter()
        report.step_diffs = _check_factors(factors)
        t[N_("dg.jacobian of every step")] = time.perf_counter() - t0
    report.checks = _checks(report)
    return report


CLOSED, BACKPROP = "closed forms", "dagrad reverse mode"


def _fd_gap(r: JacobianChainReport, target: str, fd: FiniteDifference) -> float:
    """max over every form of ∇_target L in the report of |∇_target L · v − finite difference|."""
    if target == "W1":
        forms = [r.weight.as_matrix(k) for k in GRADIENT_FORMS if k in r.weight.results]
    else:
        forms = [ch.product for (t, _), ch in r.chains.items() if t == target]
    return max(abs(float(np.sum(g.reshape(fd.direction.shape) * fd.direction)) - fd.estimate)
               for g in forms)


def _checks(r: JacobianChainReport) -> list[Check]:
    """The independent checks (each naming its oracle), then the consistency checks."""
    n = r.depth
    cs = [Check.of(N_("L: NumPy forward vs dagrad's forward through the model, |Δ|"),
                   abs(r.loss - r.loss_backprop), tolerance(np.array([r.loss])),
                   subject="NumPy forward", oracle="dagrad forward")]
    for (t, lv), ch in r.chains.items():
        cs.append(Check.of(N_("{grad} ({level}): chain product vs backprop, max |Δ|"),
                           ch.max_abs_diff, tolerance(ch.reference), CLOSED, BACKPROP,
                           grad=f"∇_{t} L", level=lv))
        worst = max(ch.adjoint_diffs)
        cs.append(Check.of(N_("{grad} ({level}): every intermediate adjoint vs backprop, "
                              "max |Δ|"),
                           worst, tolerance(np.concatenate([b.ravel() for b in ch.backprop])),
                           CLOSED, BACKPROP, grad=f"∇_{t} L", level=lv))
    for name, d in r.step_diffs.items():
        cs.append(Check.of(N_("{name}: closed form vs dg.jacobian of its step, max |Δ|"), d,
                           tolerance(r.factors[name].matrix), CLOSED, "dg.jacobian",
                           name=name))
    for t, fd in r.finite_differences.items():
        msgid = (N_("{grad} · v (every form) vs central finite differences of L along a "
                    "random unit v, |Δ|") if t == "W1" else
                 N_("{grad} · v (both chains) vs central finite differences of L along a "
                    "random unit v, |Δ|"))
        cs.append(Check.of(msgid, _fd_gap(r, t, fd), fd.tolerance(), CLOSED,
                           "finite differences", grad=f"∇_{t} L"))
    w = r.weight
    for key in GRADIENT_FORMS:
        if key in w.results:
            cs.append(Check.of(N_("{grad} = {form} vs backprop, max |Δ|"), w.diff(key),
                               tolerance(w.backprop), CLOSED, BACKPROP, grad="∇_W1 L",
                               form=LABELS[key]))
    # consistency: true by construction, reported but never counted as checks
    for (t, lv), ch in r.chains.items():
        cs.append(Check.of(N_("sizes chain for {grad} ({level}): {sizes}"), ch.sizes_chain,
                           grad=f"∇_{t} L", level=lv, sizes=ch.size_expression()))
    sm = r.factors[f"J_z{n}(o{n})"].matrix
    cs.append(Check.of(N_("{J} symmetric: max |J − Jᵀ|"), float(np.max(np.abs(sm - sm.T))),
                       1e-14, J=f"J_z{n}(o{n})"))
    cs.append(Check.of(N_("{J} rows sum to 0: max |row sum|"),
                       float(np.max(np.abs(sm.sum(axis=1)))), 1e-14, J=f"J_z{n}(o{n})"))
    if w.flat_vs_kron is not None:
        cs.append(Check.of(N_("{J}: the 3-tensor flattened equals I ⊗ xᵀ built by np.kron, "
                              "max |Δ|"), w.flat_vs_kron, 0.0, J="J_o1(W1)"))
    return cs
