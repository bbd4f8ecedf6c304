"""The activations a sheet's part (a) draws from, written out by hand (the key's closed forms).

Each entry: σ and σ' in LaTeX, M = sup|σ'| as an exact fraction, whether σ is bounded, the
spelling :func:`dagrad.explain.vanishing` takes, and σ as a SymPy function of a symbol (the
independent route of the checks — never dagrad's op table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["SheetActivation", "ACTIVATIONS", "sheet_activation"]


@dataclass(frozen=True)
class SheetActivation:
    key: str
    name_tex: str                 # how the sheet names σ, e.g. \tanh
    definition: str               # σ(u) = … (LaTeX, u the argument)
    derivative: str               # σ'(u) = … (LaTeX)
    sup_derivative: Fraction      # M = sup_u |σ'(u)|
    attained: bool                # is M attained (max) or only approached (sup)?
    bounded: bool                 # |σ| ≤ 1 everywhere
    spec: str                     # for dagrad.explain.vanishing
    sympy_form: Callable[[Any], Any]


def _sympy() -> Any:
    import sympy

    return sympy


def _leaky(slope: Fraction) -> Callable[[Any], Any]:
    def form(u: Any) -> Any:
        sp = _sympy()
        return sp.Piecewise((u, u > 0), (sp.Rational(slope.numerator, slope.denominator) * u,
                                         True))
    return form


def sheet_activation(key: str, slope: Fraction = Fraction(1, 10)) -> SheetActivation:
    """The entry ``key`` (leaky ReLU with negative slope ``slope`` < 1)."""
    if key == "leaky_relu":
        if not 0 < slope < 1:
            raise ValueError(f"leaky ReLU slope must lie in (0, 1), got {slope}")
        a = rf"\tfrac{{{slope.numerator}}}{{{slope.denominator}}}"
        return SheetActivation(
            "leaky_relu", r"\operatorname{lrelu}",
            rf"\operatorname{{lrelu}}(u) = \max({a}\,u,\ u)",
            rf"\operatorname{{lrelu}}'(u) = \begin{{cases}}1 & u>0\\ {a} & u<0\end{{cases}}",
            Fraction(1), True, False, f"leaky_relu:{float(slope)!r}", _leaky(slope))
    if key not in _TABLE:
        raise KeyError(f"unknown sheet activation {key!r}; known: {', '.join(ACTIVATIONS)}")
    return _TABLE[key]


_TABLE = {
    "sigmoid": SheetActivation(
        "sigmoid", r"\operatorname{sigmoid}", r"\operatorname{sigmoid}(u) = \frac{1}{1+e^{-u}}",
        r"\operatorname{sigmoid}'(u) = \operatorname{sigmoid}(u)\,\bigl(1-"
        r"\operatorname{sigmoid}(u)\bigr)", Fraction(1, 4), True, True, "sigmoid",
        lambda u: 1 / (1 + _sympy().exp(-u))),
    "tanh": SheetActivation(
        "tanh", r"\tanh", r"\tanh(u) = \frac{e^{u}-e^{-u}}{e^{u}+e^{-u}}",
        r"\tanh'(u) = 1-\tanh^2(u)", Fraction(1), True, True, "tanh",
        lambda u: _sympy().tanh(u)),
    "relu": SheetActivation(
        "relu", r"\operatorname{relu}", r"\operatorname{relu}(u) = \max(0,\ u)",
        r"\operatorname{relu}'(u) = \begin{cases}1 & u>0\\ 0 & u<0\end{cases}", Fraction(1),
        True, False, "relu", lambda u: _sympy().Piecewise((u, u > 0), (0, True))),
    "softplus": SheetActivation(
        "softplus", r"\operatorname{softplus}", r"\operatorname{softplus}(u) = \ln(1+e^{u})",
        r"\operatorname{softplus}'(u) = \frac{1}{1+e^{-u}}", Fraction(1), False, False,
        "softplus", lambda u: _sympy().log(1 + _sympy().exp(u))),
    "rational": SheetActivation(
        "rational", r"\varphi", r"\varphi(u) = \frac{u}{1+|u|}",
        r"\varphi'(u) = \frac{1}{(1+|u|)^2}", Fraction(1), True, True, "x / (1 + abs(x))",
        lambda u: u / (1 + _sympy().Abs(u))),
}

#: The activations part (a) draws from (the sheet's sigmoid and ReLU, and four more).
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "rational")
