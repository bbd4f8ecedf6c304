"""Numbers as a sheet prints them: exact fractions and short decimals, in LaTeX."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

__all__ = ["frac_tex", "num_tex", "vector_tex"]


def frac_tex(q: Any) -> str:
    """An exact rational as LaTeX: 3, -2, \\tfrac{3}{2}, -\\tfrac{1}{4}."""
    q = Fraction(q)
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return rf"{sign}\tfrac{{{abs(q.numerator)}}}{{{q.denominator}}}"


def num_tex(v: float, digits: int = 6) -> str:
    """A float with ``digits`` significant digits; 1.2 \\cdot 10^{-5} below 1e-4 or above 1e6."""
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"a sheet prints finite numbers only, got {v}")
    if v == 0:
        return "0"
    text = f"{v:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return rf"{mant} \cdot 10^{{{int(exp)}}}"
    return text


def vector_tex(values: Any) -> str:
    """(a, b, c) of exact fractions in LaTeX."""
    return r"\left(" + ",\\ ".join(frac_tex(v) for v in values) + r"\right)"
