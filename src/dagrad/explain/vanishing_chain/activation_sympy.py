"""σ' and sup|σ'| of an activation typed as an expression, by SymPy — never by dagrad's op table.

Exercise (a) compares dagrad's autodiff of the chain h_i = σ(w_i h_{i−1}) with the closed form
h_{i−1}σ'(u_i)∏_{k>i} w_kσ'(u_k).  For a named activation σ' is written by hand; for an
expression such as ``"x / (1 + abs(x))"`` it must come from somewhere that does not share
dagrad's derivative rules, or the check compares dagrad with itself.  :func:`analyse` converts
the *parsed* expression (the safe parser's tree, never the user's string) to SymPy, differentiates
it with ``sympy.diff``, and turns σ' into a NumPy function with ``sympy.lambdify`` (code printed
from that SymPy expression, which we built).

It also finds sup_u |σ'(u)| for the bound: on a dense grid always, and exactly where SymPy can
split σ' into smooth pieces, solve σ'' = 0 on each (a finite set) and take the limits at the
pieces' ends; :class:`SymbolicActivation` says which of the two the number is.  Finally it
recognises spellings of the sigmoid (``1/(1+exp(-x))``, ``exp(x)/(1+exp(x))``,
``(1+tanh(x/2))/2``) and of tanh that SymPy proves equal to them, so that the report can use
their exact closed forms and bounds.

Conventions at kinks (where σ is not differentiable): SymPy's sign(0) = 0, and Heaviside(0) = 0,
i.e. relu′(0) = 0 as in PyTorch and dagrad.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np

from ... import closed_forms
from ...expression import Expression, ExpressionError, numpy_functions, to_sympy

__all__ = ["SymbolicActivation", "analyse", "GRID_TEXT"]

# the numerical estimate's grid: dense on [−GRID_HALF, GRID_HALF], logarithmic tails beyond
GRID_HALF = 60.0
GRID_POINTS = 120_001
TAIL_MAX = 1e8
GRID_TEXT = (f"a numerical estimate: the largest |σ'| on {GRID_POINTS:,} points in "
             f"[−{GRID_HALF:g}, {GRID_HALF:g}] and tails to ±{TAIL_MAX:.0e}, refined")
# SymPy has no timeout: σ' beyond these sizes is not handed to its solver (a power of 64 or eight
# kinks took 5–190 s), and the exact analysis stops between steps once SYMBOLIC_SECONDS passed
MAX_SIGMA_OPS = 100  # a larger σ is refused: differentiating and printing it takes seconds
MAX_SYMBOLIC_OPS = 60
MAX_KINKS = 4  # abs, sign, Heaviside, max, min in σ' (each may double the pieces)
MAX_POWER = 6  # |integer exponent| of a non-constant power in σ'
SYMBOLIC_SECONDS = 3.0
MAX_PIECES = 16
MAX_RECOGNISE_OPS = 80
_PROBES = np.array([-7.3, -2.1, -0.4, 0.0, 0.35, 1.7, 6.2])


@dataclass(frozen=True)
class SymbolicActivation:
    """σ and σ' of an expression by SymPy, sup|σ'| (exact or estimated), and a recognised name."""

    sigma: Any  # σ as a SymPy expression in the real symbol x
    derivative: Any  # σ' = sympy.diff(σ, x)
    derivative_fn: Callable[[np.ndarray], np.ndarray]  # σ' lambdified for NumPy (float64)
    sup: float  # sup_u |σ'(u)|; math.inf when σ' is unbounded
    sup_exact: bool  # True: SymPy's; False: the grid's numerical estimate
    sup_text: str  # "1", "1/4", "≈ 1.0998" or "∞"
    named: str | None  # "sigmoid" or "tanh" when SymPy shows σ equal to it
    why_estimate: str = ""  # why SymPy gave no exact sup (for an estimate)

    def sup_sentence(self) -> str:
        """One sentence: the value and how it was found (in the current language)."""
        from ...i18n import _

        if self.sup_exact:
            return _("sup|σ'| = {sup} (exact, by SymPy)").format(sup=self.sup_text)
        why = f"; {self.why_estimate}" if self.why_estimate else ""
        grid = _("a numerical estimate: the largest |σ'| on {points} points in [−{half}, {half}] "
                 "and tails to ±{tail}, refined").format(
            points=f"{GRID_POINTS:,}", half=f"{GRID_HALF:g}", tail=f"{TAIL_MAX:.0e}")
        return f"sup|σ'| {self.sup_text} ({grid}{why})"


def _heaviside(a: Any, h0: Any = 0.0) -> Any:
    return np.heaviside(a, h0)


_NUMPY_OVERRIDES = {"Heaviside": _heaviside,
                    "Max": lambda *a: reduce(np.maximum, a),
                    "Min": lambda *a: reduce(np.minimum, a)}


def _lambdify(sp: Any, x: Any, e: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A float64 NumPy function of u for the SymPy expression e (constants broadcast to u)."""
    raw = sp.lambdify(x, e, modules=[_NUMPY_OVERRIDES, "numpy"], cse=True)

    def fn(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        with np.errstate(all="ignore"):
            v = np.asarray(raw(u))
        if np.iscomplexobj(v):
            v = np.where(np.imag(v) == 0, np.real(v), np.nan)
        return np.broadcast_to(v.astype(np.float64), u.shape).copy()

    return fn


def _pieces(sp: Any, x: Any, d: Any) -> list[tuple[Any, Any]]:
    """σ' as smooth pieces (expression, set of reals) by Piecewise rewriting of abs/sign/…."""
    pw = sp.piecewise_fold(d.rewrite(sp.Piecewise))
    raw = pw.args if isinstance(pw, sp.Piecewise) else [(pw, sp.true)]
    if len(raw) > MAX_PIECES:
        raise ValueError("too many pieces")
    out, covered = [], sp.S.EmptySet
    for e, cond in raw:  # Piecewise: the first true condition wins
        dom = (sp.S.Reals if cond is sp.true else cond.as_set()) - covered
        covered = covered | dom
        if dom is not sp.S.EmptySet:
            out.append((e, dom))
    return out


def _intervals(sp: Any, s: Any) -> list[Any]:
    if s is sp.S.EmptySet:
        return []
    if isinstance(s, sp.Interval):
        return [s]
    if isinstance(s, sp.Union) and all(isinstance(a, sp.Interval | sp.FiniteSet)
                                       for a in s.args):
        return list(s.args)
    if isinstance(s, sp.FiniteSet):
        return [s]
    raise ValueError(f"not a union of intervals: {s}")


def _candidates(sp: Any, x: Any, e: Any, dom: Any, stop: float) -> list[Any]:
    """Values of e at its critical points in dom and its one-sided limits at dom's ends."""
    from sympy.calculus.util import continuous_domain

    vals: list[Any] = []
    for part in _intervals(sp, dom):
        if time.monotonic() > stop:
            raise TimeoutError
        if isinstance(part, sp.FiniteSet):
            vals += [e.subs(x, p) for p in part]
            continue
        for iv in _intervals(sp, continuous_domain(e, x, part)):
            if isinstance(iv, sp.FiniteSet):
                vals += [e.subs(x, p) for p in iv]
                continue
            de = sp.diff(e, x)
            if de != 0:
                crit = sp.solveset(de, x, iv)
                if not isinstance(crit, sp.FiniteSet) and crit is not sp.S.EmptySet:
                    raise ValueError(f"σ'' = 0 not solved: {crit}")
                vals += [e.subs(x, c) for c in crit]
            else:
                vals.append(e)
            for end, direction in ((iv.start, "+"), (iv.end, "-")):
                if end in (sp.oo, -sp.oo):
                    vals.append(sp.limit(e, x, end))
                else:
                    vals.append(sp.limit(e, x, end, direction))
    return vals


def _refusal(sp: Any, d: Any) -> str | None:
    """Why σ' is not handed to SymPy's solver (too large to finish in seconds), or None."""
    if sp.count_ops(d) > MAX_SYMBOLIC_OPS:
        return f"SymPy not tried: σ' has more than {MAX_SYMBOLIC_OPS} operations"
    kinks = sum(1 for a in sp.preorder_traversal(d)
                if isinstance(a, sp.Abs | sp.sign | sp.Heaviside | sp.Max | sp.Min))
    if kinks > MAX_KINKS:
        return f"SymPy not tried: σ' has {kinks} kinks (abs, sign, max, …), over {MAX_KINKS}"
    for a in sp.preorder_traversal(d):
        if a.is_Pow and a.exp.is_Integer and abs(int(a.exp)) > MAX_POWER and a.base.free_symbols:
            return f"SymPy not tried: σ' has a power {a.exp}, beyond ±{MAX_POWER}"
    return None


def _exact_sup(sp: Any, x: Any, d: Any) -> tuple[Any | None, str]:
    """(sup|σ'| as a SymPy number, sympy.oo when unbounded; or None and the reason)."""
    why = _refusal(sp, d)
    if why:
        return None, why
    stop = time.monotonic() + SYMBOLIC_SECONDS
    try:
        vals = [v for e, dom in _pieces(sp, x, d) for v in _candidates(sp, x, e, dom, stop)]
        best, best_f = sp.Integer(0), 0.0
        for v in vals:
            a = sp.Abs(v)
            if a.has(sp.oo, -sp.oo, sp.zoo):
                return sp.oo, ""
            f = complex(sp.N(a, 30))
            if f.imag != 0 or not math.isfinite(f.real):
                return None, f"SymPy gave |σ'| = {a} at a candidate point"
            if f.real > best_f:
                best, best_f = a, f.real
        return best, ""
    except TimeoutError:
        return None, f"SymPy stopped after {SYMBOLIC_SECONDS:g} s"
    except Exception:  # noqa: BLE001 — any failure of SymPy's solver means "not exact"
        return None, "SymPy could not solve σ'' = 0 on every piece"


def _golden_max(fn: Callable[[np.ndarray], np.ndarray], lo: float, hi: float) -> float:
    """max |fn| on [lo, hi] by golden-section search (|fn| unimodal near a grid maximum)."""
    g = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    for _ in range(80):
        c, d = b - g * (b - a), a + g * (b - a)
        fc, fd = np.abs(fn(np.array([c, d])))
        if not fc >= fd:
            a = c
        else:
            b = d
    pts = np.array([lo, hi, a, b, (a + b) / 2])
    return float(np.nanmax(np.abs(fn(pts))))


def _grid_sup(fn: Callable[[np.ndarray], np.ndarray]) -> float:
    """Numerical sup|σ'|: dense grid + tails + refinement; inf when it grows in the tails."""
    inner = np.linspace(-GRID_HALF, GRID_HALF, GRID_POINTS)
    tail = np.logspace(math.log10(GRID_HALF), math.log10(TAIL_MAX), 400)
    a_in = np.abs(fn(inner))
    a_tail = np.abs(fn(np.concatenate([tail, -tail])))
    if np.any(np.isinf(a_in)) or np.any(np.isinf(a_tail)):
        return math.inf
    if np.all(np.isnan(a_in)) and np.all(np.isnan(a_tail)):
        return math.nan
    best = float(np.nanmax(a_in)) if not np.all(np.isnan(a_in)) else 0.0
    for far in (a_tail[399], a_tail[799]):  # growing out to ±1e8: unbounded
        if np.isfinite(far) and far > 1.5 * max(best, 1e-300) and far > 1e3:
            return math.inf
    if not np.all(np.isnan(a_in)):
        j = int(np.nanargmax(a_in))
        best = max(best, _golden_max(fn, inner[max(j - 1, 0)], inner[min(j + 1, len(inner) - 1)]))
    if not np.all(np.isnan(a_tail)):
        best = max(best, float(np.nanmax(a_tail)))
    return best


def _symbolic(name: str, x: Any) -> Any:
    """The activation's SymPy forward (the op table's) in the symbol x."""
    (a,), f = closed_forms.sympy_forward(name)
    return f.subs(a, x)


def _recognise(sp: Any, x: Any, s: Any, expr: Expression) -> str | None:
    """'sigmoid' or 'tanh' when σ equals it numerically at a few points and SymPy proves it."""
    with np.errstate(all="ignore"):
        try:
            v = np.asarray(expr.evaluate({"x": _PROBES}, numpy_functions()), dtype=np.float64)
        except (ArithmeticError, ValueError, TypeError):
            return None
    v = np.broadcast_to(v, _PROBES.shape)
    refs = {name: (closed_forms.activation(name)(_PROBES), _symbolic(name, x))
            for name in ("sigmoid", "tanh")}
    if sp.count_ops(s) > MAX_RECOGNISE_OPS:
        return None
    for name, (num, sym) in refs.items():
        if np.allclose(v, num, rtol=1e-12, atol=1e-15):
            try:
                if sp.simplify((s - sym).rewrite(sp.exp)) == 0:
                    return name
            except Exception:  # noqa: BLE001 — SymPy could not prove it: not recognised
                return None
    return None


def analyse(expr: Expression) -> SymbolicActivation:
    """σ' = d/dx σ(x) by SymPy for a parsed expression in x, sup|σ'| and a recognised name."""
    import sympy as sp

    x = sp.Symbol("x", real=True)
    s = to_sympy(expr, {"x": x})
    ops = sp.count_ops(s)
    if ops > MAX_SIGMA_OPS:
        text = str(expr) if len(str(expr)) <= 60 else str(expr)[:57] + "..."
        from ...i18n import _

        raise ExpressionError(_(
            "activation {text!r} has {ops} operations; SymPy differentiates activations of at "
            "most {limit} (σ' must come from SymPy, not from dagrad, for the check to be "
            "independent) — type a shorter expression").format(text=text, ops=ops,
                                                                limit=MAX_SIGMA_OPS))
    d = sp.diff(s, x)
    d = d.replace(lambda e: isinstance(e, sp.Heaviside),
                  lambda e: sp.Heaviside(e.args[0], 0))  # relu′(0) = 0, as PyTorch
    fn = _lambdify(sp, x, d)
    grid = _grid_sup(fn)
    exact, why = _exact_sup(sp, x, d)
    if exact is not None and exact is sp.oo:
        sup, is_exact, text = math.inf, True, "∞"
    elif exact is not None and (math.isnan(grid) or grid <= float(exact) * (1 + 1e-9) + 1e-300):
        sup, is_exact = float(exact), True
        text = str(exact) if exact.is_Rational else f"{exact} ≈ {float(exact):.6g}"
    else:
        if exact is not None:
            why = f"SymPy's value {exact} is below the grid's maximum"
        sup, is_exact = grid, False
        text = "= ∞ (grows without bound)" if math.isinf(grid) else f"≈ {grid:.10g}"
    return SymbolicActivation(s, d, fn, sup, is_exact, text, _recognise(sp, x, s, expr), why)
