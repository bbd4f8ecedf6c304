"""Check a claimed bound on |∂h_n/∂w_i| for the sheet's chain h_k = σ(w_k·h_(k−1)) (exercise a).

The bound is an expression in ``h0`` (the input, also ``x``), ``n``, ``i`` and ``w`` (the largest
|w_k|), read by the safe parser.  The true |∂h_n/∂w_i| = |h_(i−1)·σ'(u_i)·∏_(k>i) w_k·σ'(u_k)|
is evaluated in closed form (σ' from :mod:`dagrad.closed_forms`, or SymPy for an activation
typed as an expression) for random weights |w_k| ≤ ``w_max``, inputs and depths, then a local
search climbs towards the largest ratio true/bound.  A point where the true value exceeds the
bound is a counterexample, confirmed by dagrad's reverse mode on the recorded chain; without
one the verdict says "no counterexample in N trials" (never "proved"), and how close the search
came to the bound says whether it looks tight.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..i18n import _
from . import numeric as nm
from .expressions import read, reading
from .report import RIGHT, WRONG, CheckReport, Table

__all__ = ["bound", "true_derivatives"]

VARIABLES = ("h0", "x", "n", "i", "w")
MAX_N = 12
TIGHT = 0.99
CLIMB_STEPS = 200


def true_derivatives(act: Any, w: np.ndarray, h0: float) -> np.ndarray:
    """|∂h_n/∂w_i| for i = 1..n by the closed form h_(i−1)·σ'(u_i)·∏_(k>i) w_k·σ'(u_k)."""
    n = len(w)
    h = np.empty(n + 1)
    h[0] = h0
    u = np.empty(n)
    with np.errstate(all="ignore"):
        for k in range(n):
            u[k] = w[k] * h[k]
            h[k + 1] = float(act.numpy(np.array(u[k])))
        log_d, sign_d = act.log_derivative(u)
        d = sign_d * np.exp(log_d)
        tail = np.concatenate([np.cumprod((w * d)[::-1])[::-1][1:], [1.0]])
        return np.abs(h[:-1] * d * tail)


def _bound_values(expr: Any, h0: float, n: int, w: np.ndarray) -> np.ndarray:
    from ..expression import numpy_functions

    i = np.arange(1, n + 1, dtype=np.float64)
    env = {"h0": np.full(n, h0), "x": np.full(n, h0), "n": np.full(n, float(n)), "i": i,
           "w": np.full(n, float(np.max(np.abs(w))))}
    with np.errstate(all="ignore"):
        v = expr.evaluate({k: env[k] for k in expr.variables}, numpy_functions())
    return np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()


class _Search:
    """Random trials and a local climb; the worst ratio true/bound seen, and where."""

    def __init__(self, act: Any, expr: Any, w_max: float, rng: np.random.Generator):
        self.act, self.expr, self.w_max, self.rng = act, expr, w_max, rng
        self.best = (-math.inf, None)  # (ratio, (w, h0, i, true, bound))
        self.undefined: tuple | None = None
        self.trials = 0

    def score(self, w: np.ndarray, h0: float) -> float:
        self.trials += 1
        true = true_derivatives(self.act, w, h0)
        b = _bound_values(self.expr, h0, len(w), w)
        worst = -math.inf
        for k in range(len(w)):
            if not np.isfinite(b[k]):
                if self.undefined is None and np.isfinite(true[k]):
                    self.undefined = (w.copy(), h0, k + 1, float(true[k]), float(b[k]))
                continue
            if not np.isfinite(true[k]):
                continue
            r = math.inf if b[k] <= 0 < true[k] else (0.0 if true[k] == 0 else true[k] / b[k])
            if r > worst:
                worst = r
            if r > self.best[0]:
                self.best = (r, (w.copy(), h0, k + 1, float(true[k]), float(b[k])))
        return worst

    def random(self, n: int) -> tuple[np.ndarray, float]:
        w = self.rng.uniform(-self.w_max, self.w_max, n)
        pick = self.rng.integers(4)
        if pick == 0:
            w = np.sign(w) * self.w_max * self.rng.uniform(0.9, 1.0, n)
        elif pick == 1:
            w = w * self.rng.uniform(0, 0.1, n)
        kind = self.rng.integers(3)
        h0 = (self.rng.uniform(-3, 3) if kind == 0 else
              float(np.sign(self.rng.uniform(-1, 1)) * 10 ** self.rng.uniform(-3, 0.5))
              if kind == 1 else float(self.rng.choice([-1.0, 1.0, 0.5, -0.5, 2.0])))
        return w, h0

    def climb(self, w: np.ndarray, h0: float, steps: int) -> None:
        cur = self.score(w, h0)
        scale = 0.3
        for _step in range(steps):
            w2 = np.clip(w + self.rng.normal(0, scale * self.w_max, len(w)), -self.w_max,
                         self.w_max)
            h2 = h0 + float(self.rng.normal(0, scale * max(1.0, abs(h0))))
            s = self.score(w2, h2)
            if s >= cur:
                w, h0, cur = w2, h2, s
            else:
                scale = max(scale * 0.97, 1e-3)


def _confirm(act: Any, w: np.ndarray, h0: float, i: int) -> float | None:
    """dagrad's reverse mode's |∂h_n/∂w_i| on the recorded chain (None if it cannot run)."""
    from ..explain import vanishing

    try:
        r = vanishing(len(w), [act], weights=list(w), x=h0)
    except (ValueError, ArithmeticError):
        return None
    return abs(float(r[act.label].autodiff[i - 1]))


def bound(activation: str, claimed: str, *, w_max: float = 1.0, trials: int = 2000,
          max_n: int = MAX_N, seed: int = 0) -> CheckReport:
    """Search for a counterexample to |∂h_n/∂w_i| ≤ ``claimed``(h0, n, i, w) on the chain
    h_k = σ(w_k h_(k−1)) with |w_k| ≤ ``w_max``; say how close the search came (tightness)."""
    from ..explain.vanishing_chain.scalar_chain import activation as resolve

    if not (isinstance(w_max, (int, float)) and math.isfinite(w_max) and w_max > 0):
        raise ValueError(_("--w-max {value!r}: a positive number").format(value=w_max))
    if not 1 <= int(trials) <= 1_000_000:
        raise ValueError(_("--trials {value}: between 1 and 1,000,000").format(value=trials))
    if not 1 <= int(max_n) <= 64:
        raise ValueError(_("--max-n {value}: between 1 and 64").format(value=max_n))
    act = resolve(activation)
    expr = read(claimed, _("the bound"))
    unknown = [v for v in expr.variables if v not in VARIABLES]
    if unknown:
        raise ValueError(_("the bound uses {names}; it may use h0 (or x), n, i and w (the "
                           "largest |w_k|)").format(names=", ".join(unknown)))
    rng = np.random.default_rng(seed)
    search = _Search(act, expr, float(w_max), rng)
    for _trial in range(int(trials)):
        n = int(rng.integers(1, int(max_n) + 1))
        search.score(*search.random(n))
    climbs = 0
    if search.best[1] is not None:
        w0, h00 = search.best[1][0], search.best[1][1]
        for _climb in range(5):
            search.climb(w0.copy(), h00, CLIMB_STEPS)
            climbs += 1
    ratio, where = search.best
    question = _("a bound on {d} for {chain}, {h0}, {w}").format(
        d="|∂h_n/∂w_i|", chain=f"h_k = {act.label}(w_k·h_(k−1))", h0="h_0 = h0",
        w=f"|w_k| ≤ {w_max:g}")
    read_as = [r] if (r := reading(expr)) else []
    searched = _("random weights {w}, inputs h0 and depths {n}, then a local search towards "
                 "the largest ratio true/bound").format(w=f"|w_k| ≤ {w_max:g}", n=f"n ≤ {max_n}")
    table = Table(_("the closest point found"), ["n", "i", "h0", "w_1..w_n", "|∂h_n/∂w_i|",
                                                _("your bound"), _("ratio")], [])
    if where is not None:
        w, h0, i, true, b = where
        table.rows.append([len(w), i, h0, ", ".join(f"{v:.4g}" for v in w), true, b, ratio])
    if search.undefined is not None:
        w, h0, i, true, b = search.undefined
        report = CheckReport("bound", question, claimed, WRONG,
                             _("found in {n} evaluations ({searched})").format(
                                 n=search.trials, searched=searched),
                             [_("your bound is not a number at {where} ({value}), where {d} = "
                                "{true}").format(
                                 where=f"n={len(w)}, i={i}, h0={h0:.6g}, "
                                       f"w={np.max(np.abs(w)):.6g}",
                                 value=b, d="|∂h_n/∂w_i|", true=f"{true:.6g}")],
                             read_as=read_as, tables=[table])
        report.point = {"n": len(w), "i": i, "h0": h0, "w": float(np.max(np.abs(w)))}
        return report
    if where is not None and ratio > 1 + 1e-9:
        w, h0, i, true, b = where
        engine = _confirm(act, w, h0, i)
        point = {"n": float(len(w)), "i": float(i), "h0": float(h0),
                 "w": float(np.max(np.abs(w)))}
        diag = [_("counterexample: {where}, weights ({weights}): {d} = {true} exceeds your "
                  "bound {bound} ({ratio} times it)").format(
                      where=f"n={len(w)}, i={i}, h0={h0:.6g}",
                      weights=", ".join(f"{v:.6g}" for v in w), d="|∂h_n/∂w_i|",
                      true=f"{true:.6g}", bound=f"{b:.6g}", ratio=f"{ratio:.4g}")]
        if engine is not None:
            agree = nm.close(engine, true, rtol=1e-8)
            diag.append(_("dagrad's reverse mode on the recorded chain gives {value}").format(
                value=f"{engine:.6g}")
                + ("" if agree else _(" — it disagrees with the closed form (a bug)")))
        report = CheckReport("bound", question, claimed, WRONG,
                             _("a counterexample found in {n} evaluations ({searched})").format(
                                 n=search.trials, searched=searched), diag,
                             read_as=read_as, tables=[table])
        report.point = point
        report.values = {"|∂h_n/∂w_i|": true, "your bound": b}
        report.data.update(counterexample=where, ratio=ratio)
        return report
    if where is None:
        tight = _("the derivative was 0 at every point tried")
    elif ratio >= TIGHT:
        tight = _("it looks tight: the search came within {pct}% of it (ratio {ratio})").format(
            pct=f"{100 * (1 - ratio):.2g}", ratio=f"{ratio:.6g}")
    else:
        tight = _("it does not look tight: the largest {d} found is {ratio} of your "
                  "bound").format(d="|∂h_n/∂w_i|", ratio=f"{ratio:.4g}")
    none_in = _("no counterexample in {n} evaluations").format(n=search.trials)
    report = CheckReport("bound", question, claimed, RIGHT,
                         _("{none_in} ({searched}); a search, not a proof").format(
                             none_in=none_in, searched=searched),  # never "proved"
                         [none_in, tight],
                         read_as=read_as, tables=[table])
    report.data.update(ratio=ratio, closest=where)
    return report
