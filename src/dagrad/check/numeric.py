"""Deciding whether two SymPy expressions are equal: canonical forms first, within a time limit,
then exact-enough values at random rational points.

Every SymPy call that may run away (expand, cancel, simplify) runs in a bounded child process
(:mod:`dagrad.dag.isolate`, the limits of :mod:`dagrad.dag.limit`), so a check cannot hang.
Values are SymPy's ``evalf`` with 30 digits at rational points — never ``lambdify`` (which
``exec``-s generated code) — so a difference found at a point is a difference, not rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..i18n import _

__all__ = ["DIGITS", "POINTS", "Decision", "random_points", "value_at", "values_at",
           "canonical_zero", "decide", "close", "nice_fraction", "bounded_call",
           "float_point"]

DIGITS = 30      # evalf precision
POINTS = 20      # random points for a numerical decision
RTOL = 1e-12     # two values at one point are the same when they differ by less (relative)
ATOL = 1e-12


@dataclass
class Decision:
    """Whether ``a == b``: ``equal``, ``how`` it was decided, a ``witness`` point where they
    differ (with both values), and the points used."""

    equal: bool
    how: str
    witness: dict[str, Any] | None = None
    a_value: float | None = None
    b_value: float | None = None
    points: list[dict[str, Any]] = field(default_factory=list, repr=False)


def random_points(variables: Sequence[str], count: int, seed: int = 0,
                  valid: Any = None, tries: int = 20) -> list[dict[str, Any]]:
    """``count`` points of random rationals p/q (|p/q| ≤ 3, q ≤ 9, never 0) where ``valid(point)``
    holds (every value real and finite); fewer if the domain is that small."""
    import sympy

    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for _try in range(count * tries):
        if len(out) >= count:
            break
        point = {}
        for v in variables:
            q = int(rng.integers(1, 10))
            p = 0
            while p == 0:
                p = int(rng.integers(-3 * q, 3 * q + 1))
            point[v] = sympy.Rational(p, q)
        if valid is None or valid(point):
            out.append(point)
    return out


def _symbols(expr: Any, point: Mapping[str, Any]) -> dict[Any, Any]:
    return {s: point[s.name] for s in getattr(expr, "free_symbols", ()) if s.name in point}


def value_at(expr: Any, point: Mapping[str, Any]) -> float:
    """The real value of ``expr`` at ``point`` (30 digits, then a float); NaN where it is not
    real or not finite there."""
    import sympy

    try:
        v = sympy.sympify(expr).xreplace(_symbols(sympy.sympify(expr), point)).evalf(DIGITS)
        if v.free_symbols:
            return math.nan
        re, im = v.as_real_imag()
        re, im = float(re), float(im)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return math.nan
    if im != 0 and abs(im) > 1e-25 * max(1.0, abs(re)):
        return math.nan
    return re if math.isfinite(re) else math.nan


def values_at(expr: Any, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``expr`` at every point, as float64 (NaN where undefined)."""
    return np.array([value_at(expr, p) for p in points], dtype=np.float64)


def close(a: Any, b: Any, rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    """Elementwise: a and b are the same number up to rounding of the 30-digit values."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))


def float_point(point: Mapping[str, Any]) -> dict[str, float]:
    """A point of rationals as floats (for reports)."""
    return {k: float(v) for k, v in point.items()}


def _canonical_work(diff: Any, emit: Any) -> None:
    import sympy

    for name, step in (("expand", sympy.expand), ("cancel", lambda e: sympy.cancel(
            sympy.together(e))), ("simplify", sympy.simplify)):
        if step(diff) == 0:
            emit(name)
            return
        emit("no:" + name)


def canonical_zero(diff: Any, seconds: float | None = None) -> str | None:
    """The canonical form that shows ``diff == 0`` (expand, cancel or simplify), or None when
    none does within the time limit (``DAGRAD_SYMBOLIC_SECONDS``, 3 s by default)."""
    from ..dag import bounded, isolate, limit

    if diff == 0:
        return "as parsed"
    if bounded.simplify_refusal(diff):
        return None
    secs = float(limit.SECONDS.value(what=limit.SECONDS.env)) if seconds is None else seconds
    import time

    start = time.monotonic()
    out = isolate.run(lambda emit: _canonical_work(diff, emit), lambda frames: start + secs,
                      int(limit.MEMORY.value(what=limit.MEMORY.env)))
    for frame in out.frames:
        if not frame[0].startswith("no:"):
            return frame[0]
    return None


def decide(a: Any, b: Any, variables: Sequence[str], seed: int = 0,
           points: int = POINTS) -> Decision:
    """Is a == b (b the right one)? By values at ``points`` random rational points where b is
    defined — a difference, or a undefined at one of them, decides "not equal" for sure —
    then by a canonical form of a − b (bounded in time), else numerically, said so."""
    import sympy

    a, b = sympy.sympify(a), sympy.sympify(b)

    def valid(p: Mapping[str, Any]) -> bool:
        return math.isfinite(value_at(b, p))

    pts = random_points(variables, points, seed=seed, valid=valid)
    for p in pts:
        va, vb = value_at(a, p), value_at(b, p)
        if not math.isfinite(va):
            return Decision(False, _("yours is not a real number at a random point where the "
                                     "right one is"), p, va, vb, pts)
        if not close(va, vb):
            return Decision(False, _("they differ at a random point (values to {digits} "
                                     "digits)").format(digits=DIGITS), p, va, vb, pts)
    form = canonical_zero(a - b)
    if form is not None:
        how = _("the difference is 0 as parsed") if form == "as parsed" else \
            _("{form} of the difference gives 0").format(form=form)
        return Decision(True, _("decided symbolically (SymPy: {how})").format(how=how),
                        points=pts)
    if not pts:
        return Decision(False, _("undecided: the right one is defined at no random point "
                                 "tried"), points=pts)
    return Decision(True, _("decided numerically at {n} random points (SymPy could not "
                            "simplify the difference to 0 within its time limit)").format(
                                n=len(pts)), points=pts)


def bounded_call(fn: Any, seconds: float = 2.0) -> Any:
    """``fn()`` (SymPy work) in a bounded child; None when it does not finish in ``seconds``."""
    import time

    from ..dag import isolate, limit

    start = time.monotonic()
    out = isolate.run(lambda emit: emit(fn()), lambda frames: start + seconds,
                      int(limit.MEMORY.value(what=limit.MEMORY.env)))
    return out.frames[0][0] if out.frames else None


def nice_fraction(x: float, max_denominator: int = 1000) -> Fraction | None:
    """x as a small fraction p/q when it is one (up to rounding), else None."""
    if not math.isfinite(x):
        return None
    f = Fraction(x).limit_denominator(max_denominator)
    return f if abs(float(f) - x) <= 1e-9 * max(1.0, abs(x)) else None


def fmt_value(x: float) -> str:
    """A value for a table: 6 significant digits, "undefined" for NaN."""
    return _("undefined") if not math.isfinite(x) else f"{x:.6g}"


def constant_ratio(a: Any, b: Any, points: Sequence[Mapping[str, Any]]) -> str | None:
    """"the sign is wrong", "off by a factor 2 (yours is twice it)" when a = k·b for a constant
    k ≠ 1 at every point, else None."""
    va, vb = values_at(a, points), values_at(b, points)
    ok = np.isfinite(va) & np.isfinite(vb) & (np.abs(vb) > 1e-300)
    if ok.sum() < 2:
        return None
    k = va[ok] / vb[ok]
    if not np.all(close(k, k[0], rtol=1e-9)):
        return None
    f = nice_fraction(float(k[0]))
    if f is None or f == 1:
        return None
    if f == 0:
        return _("yours is 0")
    if f == -1:
        return _("the sign is wrong")
    m = abs(f)
    if m.denominator == 1:
        size = _("off by a factor {k} (yours is {k} times it)").format(k=m.numerator)
    elif m.numerator == 1:
        size = _("off by a factor {k} (yours is 1/{k} of it)").format(k=m.denominator)
    else:
        size = _("off by a factor {p}/{q}").format(p=m.numerator, q=m.denominator)
    return _("the sign is wrong and {size}").format(size=size) if f < 0 else size
