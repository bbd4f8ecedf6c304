"""Part (a): the deep scalar chain h_i = σ(w_i·h_{i−1}) with another activation, depth and weights.

The variant draws two activations (σ₁ for the question, σ₂ for "how does it change"), the
depth n, the bound c on |w_i| and exact weights and input.  The key's numbers come from
:func:`dagrad.explain.vanishing` (dagrad's reverse mode against the explainer's closed form);
the checks compare them with SymPy's exact derivatives and M = sup|σ'| with SymPy's σ' on a grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..i18n import N_, _
from .activations import ACTIVATIONS, SheetActivation, sheet_activation
from .checks import Check, close
from .document import DisplayMath, Heading, Items, Paragraph, Table, math
from .numbers import frac_tex, num_tex, vector_tex

__all__ = ["VariantA", "SolutionA", "draw", "solve", "CHECKERS", "handout", "key"]

POINTS = (2, 1, 1)
NAMES = {"sigmoid": N_("the sigmoid function"), "tanh": N_("the hyperbolic tangent"),
         "relu": N_("the ReLU activation"), "leaky_relu": N_("the leaky ReLU activation"),
         "softplus": N_("the softplus function"), "rational": N_("the rational activation")}
_INPUTS = (Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(2), Fraction(-1),
           Fraction(-1, 2))


@dataclass(frozen=True)
class VariantA:
    first: SheetActivation
    second: SheetActivation
    n: int
    c: Fraction                  # |w_i| < c
    x: Fraction
    weights: tuple[Fraction, ...]


@dataclass(frozen=True)
class SolutionA:
    h: np.ndarray                # h_0..h_n of σ₁'s chain
    gradient: np.ndarray         # ∂h_n/∂w_i, i = 1..n, by dagrad's reverse mode
    bounds: tuple[np.ndarray, np.ndarray]  # |h_{i−1}| M^{n−i+1} c^{n−i} for σ₁ and σ₂
    explainer_ok: bool           # dagrad.explain.vanishing: autodiff = closed form


def draw(rng: np.random.Generator) -> VariantA:
    """A variant of part (a) from ``rng`` (numpy.random.default_rng)."""
    i, j = rng.choice(len(ACTIVATIONS), size=2, replace=False)
    slope = Fraction(1, int(rng.choice([10, 5, 4])))
    if "sigmoid" not in (ACTIVATIONS[i], ACTIVATIONS[j]) and rng.random() < 0.5:
        j = ACTIVATIONS.index("sigmoid")  # as the sheet: one bound below 1 half the time
    first, second = (sheet_activation(ACTIVATIONS[k], slope) for k in (i, j))
    n = int(rng.integers(3, 7))
    c = Fraction(1) if rng.random() < 0.6 else Fraction(1, 2)
    x = _INPUTS[int(rng.integers(len(_INPUTS)))]
    for _attempt in range(200):
        w = tuple(c * Fraction(int(k), 8) * (1 if s else -1)
                  for k, s in zip(rng.integers(1, 8, n), rng.random(n) < 0.6, strict=True))
        if _alive(first, x, w):
            return VariantA(first, second, n, c, x, w)
    raise RuntimeError("part (a): no weights with a live chain after 200 draws")


def _alive(act: SheetActivation, x: Fraction, w: tuple[Fraction, ...]) -> bool:
    """Every u_k = w_k·h_{k−1} ≠ 0 and (ReLU) > 0, so σ' is defined and no layer is dead."""
    h = float(x)
    for wk in w:
        u = float(wk) * h
        if u == 0 or (act.key == "relu" and u < 0):
            return False
        h = float(np.asarray(_numpy_sigma(act, u)))
    return True


def _numpy_sigma(act: SheetActivation, u: float) -> float:
    import sympy

    s = sympy.Symbol("u", real=True)
    return float(act.sympy_form(s).subs(s, sympy.Float(u, 30)).evalf(30))


def _bound(h: np.ndarray, m: Fraction, c: Fraction) -> np.ndarray:
    n = len(h) - 1
    i = np.arange(1, n + 1)
    return np.abs(h[:-1]) * float(m) ** (n - i + 1) * float(c) ** (n - i)


def solve(v: VariantA) -> SolutionA:
    """∂h_n/∂w_i for σ₁ by dagrad (through ``dg.explain.vanishing``) and both bounds."""
    from ..explain import vanishing

    report = vanishing(v.n, [v.first.spec], weights=[float(w) for w in v.weights], x=float(v.x))
    chain = report[v.first.spec]
    h = np.array(chain.h, dtype=np.float64)
    return SolutionA(h, np.array(chain.autodiff, dtype=np.float64),
                     (_bound(h, v.first.sup_derivative, v.c),
                      _bound(h, v.second.sup_derivative, v.c)), report.ok)


# ----------------------------------------------------------------------------- checks
def _sympy_chain(v: VariantA, i: int) -> tuple[Any, Any, list[Any]]:
    """h_n as a SymPy function of w_i alone (the other weights exact), and h_0..h_n exactly."""
    import sympy

    wi = sympy.Symbol("w_i", real=True)
    h: Any = sympy.Rational(v.x.numerator, v.x.denominator)
    values = [h]
    for k, w in enumerate(v.weights, 1):
        weight = wi if k == i else sympy.Rational(w.numerator, w.denominator)
        h = v.first.sympy_form(weight * h)
        values.append(h)
    return wi, h, values


def check_explainer(v: VariantA, s: SolutionA) -> Check:
    return Check("a", "∂h_n/∂w_i: reverse mode vs the closed form", "closed form "
                 "(dagrad.explain.vanishing, NumPy in log space)", s.explainer_ok,
                 "agree at every layer" if s.explainer_ok else "MISMATCH")


def check_sympy_gradient(v: VariantA, s: SolutionA) -> Check:
    """Every ∂h_n/∂w_i and h_k against SymPy's exact derivative at the exact weights."""
    import sympy

    bad = []
    for i in range(1, v.n + 1):
        wi, hn, values = _sympy_chain(v, i)
        w = sympy.Rational(v.weights[i - 1].numerator, v.weights[i - 1].denominator)
        exact = float(sympy.diff(hn, wi).subs(wi, w).evalf(30))
        if not close(float(s.gradient[i - 1]), exact, 1e-9, 1e-300):
            bad.append(f"i = {i}: {s.gradient[i - 1]!r} vs {exact!r}")
        if i == 1:
            hs = [float(sympy.sympify(h).subs(wi, w).evalf(30)) for h in values]
            if not np.allclose(s.h, hs, rtol=1e-12, atol=0):
                bad.append(f"h_k: {s.h.tolist()} vs {hs}")
    return Check("a", "∂h_n/∂w_i and h_k at the sheet's weights", "SymPy (exact derivative, "
                 "30 digits)", not bad, "; ".join(bad) or f"all {v.n} layers agree to 1e-9")


def check_sup(v: VariantA, s: SolutionA) -> Check:
    """M = sup|σ'| of the key against max |σ'| of SymPy's derivative on a fine grid."""
    import sympy

    u = sympy.Symbol("u", real=True)
    grid = np.concatenate([np.linspace(-40, 40, 4001), [0.0, 1e-9, -1e-9]])
    bad = []
    for act in (v.first, v.second):
        d = sympy.lambdify(u, sympy.diff(act.sympy_form(u), u), "numpy")
        with np.errstate(all="ignore"):
            vals = np.abs(np.broadcast_to(np.asarray(d(grid), dtype=np.float64), grid.shape))
        m = float(act.sup_derivative)
        if not (vals.max() <= m * (1 + 1e-12) and vals.max() >= m * (1 - 1e-3)):
            bad.append(f"{act.key}: key says {act.sup_derivative}, grid max {vals.max():.6g}")
    return Check("a", "M = sup|σ'| of both activations", "SymPy σ' on a grid of 4004 points",
                 not bad, "; ".join(bad) or "both agree")


def check_bounds(v: VariantA, s: SolutionA) -> Check:
    """σ₁'s bound holds at every layer (the theorem the key states)."""
    g = np.abs(s.gradient)
    ok = bool(np.all(g <= s.bounds[0] * (1 + 1e-12)))
    return Check("a", "σ₁'s bound on |∂h_n/∂w_i| holds at every layer", "the bound derived "
                 "by hand (exact M and c)", ok, "holds at every layer" if ok else "VIOLATED")


CHECKERS = [check_explainer, check_sympy_gradient, check_sup, check_bounds]


# ----------------------------------------------------------------------------- the text
def _points(p: int) -> str:
    return _("(1 point)") if p == 1 else _("({p} points)").format(p=p)


def _named(act: SheetActivation) -> str:
    return _(NAMES[act.key]) + " " + math(act.definition)


D = r"\frac{\partial h_n}{\partial w_i}"
RANGE = r"i \in \{1, \dots, n\}"


def handout(v: VariantA) -> list[Any]:
    """Part (a) of the handout."""
    weights = r"w = " + vector_tex(v.weights)
    return [
        Heading(2, _("a) Effect of the activation function on the gradient ({p} points)")
                .format(p=sum(POINTS))),
        Paragraph(_("The choice of activation function can have a large influence on the "
                    "gradient of an artificial neural network. An unfortunate choice can lead "
                    "to vanishing gradients: the gradient values come dangerously close to "
                    "machine precision, and the weights stop changing. Here we study this "
                    "problem in a simplified example.")),
        Paragraph(_("**Task:** Consider a simplified network consisting of an input {x}, "
                    "{n} hidden layers {h}, where {w} is the weight of layer {i}, {sigma} is an "
                    "arbitrary elementwise activation function, {h0} and {hn} is the output of "
                    "the network.").format(
            x=math(r"x \in \mathbb{R}"), n=math("n"), h=math(r"h_i = \sigma(w_i \cdot h_{i-1})"),
            w=math("w_i"), i=math("i"), sigma=math(r"\sigma : \mathbb{R} \to \mathbb{R}"),
            h0=math("h_0 = x"), hn=math("h_n"))),
        Items((
            _("{p} Compute the derivative of the output with respect to the weights of the "
              "hidden layers, i.e. compute {d} for {range}.").format(
                p=_points(POINTS[0]), d=math(D), range=math(RANGE)),
            _("{p} Let {sigma} be {act}. How large can {d} be at most, as a function of {i}, "
              "if {wb} for all {range}? How does your result change if you consider {act2} "
              "instead?").format(
                p=_points(POINTS[1]), sigma=math(r"\sigma"), act=_named(v.first),
                d=math(rf"\left|{D}\right|"), i=math("i"), wb=math(rf"|w_i| < {frac_tex(v.c)}"),
                range=math(RANGE), act2=_named(v.second)),
            _("{p} Take {n}, {x} and the weights {w}, with {sigma} as in 2. Compute {d} for "
              "every {range}. Which of your two bounds from 2. hold for these values?").format(
                p=_points(POINTS[2]), n=math(f"n = {v.n}"), x=math(f"x = {frac_tex(v.x)}"),
                w=math(weights), sigma=math(r"\sigma = " + v.first.name_tex), d=math(D),
                range=math(RANGE)),
        )),
    ]


def _verdict(v: VariantA, s: SolutionA, which: int) -> list[int]:
    g = np.abs(s.gradient)
    return [i + 1 for i in np.flatnonzero(g > s.bounds[which] * (1 + 1e-12))]


def _bound_tex(act: SheetActivation, c: Fraction) -> str:
    m = act.sup_derivative
    powers = ((rf"\left({frac_tex(m)}\right)^{{n-i+1}}" if m != 1 else "")
              + (rf"\left({frac_tex(c)}\right)^{{n-i}}" if c != 1 else ""))
    text = (rf"{act.name_tex}:\quad \left|{D}\right| \le |h_{{i-1}}|\cdot M^{{n-i+1}}\,"
            rf"c^{{n-i}} = |h_{{i-1}}|" + (r"\," + powers if powers else ""))
    if act.bounded:
        text += r" \le " + (powers or "1") + r"\quad (i \ge 2)"
    return text


def _about(act: SheetActivation, c: Fraction) -> str:
    mc = act.sup_derivative * c
    sup = _("M is attained") if act.attained else _("M is a supremum, never attained")
    if mc < 1:
        trend = _("Since {mc} < 1, the bound falls geometrically with the distance {dist} "
                  "from the output: the gradients of the first layers vanish.").format(
            mc=math(rf"M c = {frac_tex(mc)}"), dist=math("n - i"))
    else:
        trend = _("Here {mc}: the bound does not fall with depth, the slope of the activation "
                  "alone does not make the gradients vanish (they still can where {d} is "
                  "small).").format(mc=math("M c = 1"), d=math(r"|\sigma'(u_k)|\,|w_k|"))
    if act.key == "relu":
        trend += " " + _("For ReLU, {d} is exactly 0 as soon as one {u} with {k} is negative "
                         "(a dead unit).").format(d=math(D), u=math(r"u_k = w_k h_{k-1}"),
                                                   k=math(r"k \ge i"))
    return f"{math(act.derivative)}, {math('M = ' + frac_tex(act.sup_derivative))} ({sup}). " \
           + trend


def key(v: VariantA, s: SolutionA) -> list[Any]:
    """Part (a) of the key."""
    rows = []
    for i in range(1, v.n + 1):
        rows.append((math(str(i)), math(num_tex(s.h[i - 1])), math(num_tex(s.gradient[i - 1])),
                     math(num_tex(s.bounds[0][i - 1])), math(num_tex(s.bounds[1][i - 1]))))
    first, second = _verdict(v, s, 0), _verdict(v, s, 1)

    def verdict(act: SheetActivation, layers: list[int]) -> str:
        if not layers:
            return _("the bound for {act} holds at every layer").format(act=math(act.name_tex))
        return _("the bound for {act} is violated at {layers}").format(
            act=math(act.name_tex), layers=math("i = " + ", ".join(map(str, layers))))

    return [
        Heading(2, _("a) Effect of the activation function on the gradient ({p} points)")
                .format(p=sum(POINTS))),
        Paragraph("1. " + _("By the chain rule along {path}:").format(
            path=math(r"w_i \to h_i \to h_{i+1} \to \dots \to h_n"))),
        DisplayMath(rf"{D} = h_{{i-1}}\,\sigma'(w_i h_{{i-1}})\prod_{{k=i+1}}^{{n}} "
                    r"w_k\,\sigma'(w_k h_{k-1})"),
        Paragraph("2. " + _("With {m} and {wb}, every factor {f} of the product is at most "
                            "{mc} in absolute value:").format(
            m=math(r"M = \sup_u |\sigma'(u)|"), wb=math(rf"|w_k| < c = {frac_tex(v.c)}"),
            f=math(r"w_k\,\sigma'(u_k)"), mc=math("M c"))),
        Items(tuple(f"{math(act.name_tex)}: {_about(act, v.c)}" for act in (v.first, v.second)),
              numbered=False),
        DisplayMath(_bound_tex(v.first, v.c)),
        DisplayMath(_bound_tex(v.second, v.c)),
        Paragraph("3. " + _("With {sigma}, {n}, {x} (computed by dagrad's reverse mode, "
                            "checked against SymPy):").format(
            sigma=math(r"\sigma = " + v.first.name_tex), n=math(f"n = {v.n}"),
            x=math(f"x = {frac_tex(v.x)}"))),
        Table((math("i"), math("h_{i-1}"), math(D),
               _("bound for {act}").format(act=math(v.first.name_tex)),
               _("bound for {act}").format(act=math(v.second.name_tex))), tuple(rows)),
        Paragraph(_("Answer: {first}; {second}.").format(first=verdict(v.first, first),
                                                         second=verdict(v.second, second))),
    ]
