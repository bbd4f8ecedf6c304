"""Check a student's Jacobian of softmax or of an elementwise activation, as a matrix
expression in s (the output) or z (the input): ``diag(s) - s @ sᵀ``, ``diag(1 - s**2)``.

The answer (read by :mod:`dagrad.check.matrix_expression`, never ``eval``) is evaluated at
random points z ∈ ℝⁿ and compared with two oracles there: the engine's Jacobian
(``dg.jacobian`` of the op) and SymPy's (``Matrix.jacobian`` of the SymPy forward: softmax
written out, an activation's ``Op.symbolic``), evaluated to 30 digits.  When it is wrong the
diagnosis tries the usual slips: sign, transpose, a constant factor, z where s belongs, an
inner product sᵀs where the outer product ssᵀ belongs, a wrong or missing diagonal term, and
off-diagonal entries for an activation that acts elementwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import numeric as nm
from .matrix_expression import MatrixShapeError, parse_matrix
from .report import RIGHT, WRONG, CheckReport, Table

__all__ = ["jacobian", "FUNCTIONS_CHECKED"]

DIM = 4
POINTS = 5
TOL = 1e-9


def _functions() -> tuple[str, ...]:
    from ..catalogue import activation_names

    return ("softmax", *activation_names())


FUNCTIONS_CHECKED = _functions


def _softmax_np(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _forward(name: str) -> Any:
    from .. import closed_forms

    if name == "softmax":
        return _softmax_np
    return lambda z: np.asarray(closed_forms.activation(name)(z), dtype=np.float64)


def _engine(name: str, z: np.ndarray) -> np.ndarray:
    import dagrad as dg

    from ..catalogue import named_functions

    fn = (lambda t: dg.softmax(t, axis=-1)) if name == "softmax" else named_functions()[name].call
    return np.asarray(dg.jacobian(fn)(dg.tensor(z, dtype="float64")).numpy(), dtype=np.float64)


def _sympy(name: str, z: np.ndarray) -> np.ndarray:
    import sympy

    from .. import closed_forms

    zs = sympy.symbols(f"z1:{len(z) + 1}", real=True)
    if name == "softmax":
        den = sum(sympy.exp(v) for v in zs)
        out = sympy.Matrix([sympy.exp(v) / den for v in zs])
    else:
        (x,), f = closed_forms.sympy_forward(name)
        out = sympy.Matrix([f.xreplace({x: v}) for v in zs])
    J = out.jacobian(sympy.Matrix(zs))
    point = {str(v): sympy.Rational(repr(float(x))) for v, x in zip(zs, z, strict=True)}
    return np.array([[nm.value_at(J[i, j], point) for j in range(len(z))]
                     for i in range(len(z))], dtype=np.float64)


def _points(seed: int, dim: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.round(rng.normal(0.0, 1.5, dim), 3) for _ in range(count)]


def _same(a: Any, b: np.ndarray) -> bool:
    a = np.asarray(a, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(nm.close(a, b, rtol=TOL, atol=TOL)))


def _diagnose(name: str, yours: list[np.ndarray], truth: list[np.ndarray], zs: list[np.ndarray],
              ss: list[np.ndarray], expr: Any, fns: Any, dim: int) -> list[str]:
    out: list[str] = []
    elementwise = name != "softmax"
    if all(_same(-y, t) for y, t in zip(yours, truth, strict=True)):
        return [_("the sign is wrong: yours is minus the Jacobian")]
    if all(_same(np.asarray(y).T, t) for y, t in zip(yours, truth, strict=True)):
        return [_("yours is the transpose of the Jacobian (row i holds {d} for every j)").format(
            d="∂s_i/∂z_j")]
    with np.errstate(all="ignore"):
        k = [np.asarray(y) / t for y, t in zip(yours, truth, strict=True)
             if np.asarray(y).shape == t.shape]
    if k and all(np.all(np.isfinite(r)) for r in k):
        f = nm.nice_fraction(float(k[0].flat[0]))
        if f is not None and all(np.all(nm.close(r, float(f), rtol=1e-9)) for r in k):
            out.append(_("yours is {f} times the Jacobian").format(f=f))
            return out
    if {"z"} & expr.names and "s" not in expr.names:
        swapped = [expr.evaluate({"z": s.reshape(-1, 1), "s": s.reshape(-1, 1)}, fns, dim)
                   for s in ss]
        if all(_same(y, t) for y, t in zip(swapped, truth, strict=True)):
            return [_("you wrote z where the output s belongs: with s in place of z yours is "
                      "right (s is the activation's output, z its input)")]
    if {"s"} & expr.names and "z" not in expr.names:
        swapped = [expr.evaluate({"z": z.reshape(-1, 1), "s": z.reshape(-1, 1)}, fns, dim)
                   for z in zs]
        if all(_same(y, t) for y, t in zip(swapped, truth, strict=True)):
            return [_("you wrote s where the input z belongs: with z in place of s yours is "
                      "right")]
    y, t, s = np.asarray(yours[0]), truth[0], ss[0]
    if y.shape != t.shape:
        what = _("a number") if y.ndim == 0 else "×".join(map(str, y.shape))
        out.append(_("yours gives {what}, but the Jacobian of {name} on {dim} inputs is "
                     "{size}").format(what=what, name=name, dim=dim, size=f"{dim}×{dim}"))
        return out
    off = ~np.eye(dim, dtype=bool)
    outer = np.outer(s, s)
    if name == "softmax" and np.all(nm.close(y - t, outer, rtol=1e-9, atol=TOL)):
        return [_("the term {term} is missing (every entry loses {entry})").format(
            term="− s @ sᵀ", entry="s_i·s_j")]
    if name == "softmax" and np.all(nm.close(y - t, -outer, rtol=1e-9, atol=TOL)):
        return [_("{term} is subtracted twice").format(term="− s @ sᵀ")]
    diag_ok = bool(np.all(nm.close(np.diag(y), np.diag(t), rtol=TOL, atol=TOL)))
    off_ok = bool(np.all(nm.close(y[off], t[off], rtol=TOL, atol=TOL)))
    if elementwise and not np.all(nm.close(y[off], 0.0, atol=TOL)):
        out.append(_("{name} acts elementwise ({which}), so its Jacobian is diagonal; yours "
                     "has off-diagonal entries").format(
                         name=name, which=_("s_i depends on z_i only")))
    elif diag_ok and not off_ok:
        out.append(_("the diagonal is right but the off-diagonal entries are wrong: entry (1,2) "
                     "is {right}, yours {yours}").format(
                         right=f"{t[0, 1]:.6g}" + (" = −s1·s2" if name == "softmax" else ""),
                         yours=f"{y[0, 1]:.6g}"))
    elif off_ok and not diag_ok:
        d = np.diag(y) - np.diag(t)
        if np.all(nm.close(d, -s, rtol=1e-9)):
            out.append(_("the diagonal term {term} is missing").format(term="diag(s)"))
        elif np.all(nm.close(d, s, rtol=1e-9)):
            out.append(_("{term} is counted twice").format(term="diag(s)"))
        else:
            out.append(_("the off-diagonal entries are right but the diagonal is wrong: entry "
                         "(1,1) is {right}, yours {yours}").format(right=f"{t[0, 0]:.6g}",
                                                                   yours=f"{y[0, 0]:.6g}"))
    else:
        out.append(_("entry (1,1) is {r11}, yours {y11}; entry (1,2) is {r12}, yours {y12}").format(
            r11=f"{t[0, 0]:.6g}", y11=f"{y[0, 0]:.6g}", r12=f"{t[0, 1]:.6g}", y12=f"{y[0, 1]:.6g}"))
    return out


def jacobian(function: str, answer: str, *, seed: int = 0, dim: int = DIM) -> CheckReport:
    """Check a student's Jacobian ∂s/∂z of ``function`` (softmax or an elementwise activation),
    s = function(z), written as a matrix expression in s and z, at random points z ∈ ℝ^dim."""
    from ..expression import numpy_functions

    names = _functions()
    key = function.strip().lower().replace("-", "_")
    if key not in names:
        raise ValueError(_("jacobian of {function!r}: choose one of {names}").format(
            function=function, names=", ".join(names)))
    if not 2 <= int(dim) <= 16:
        raise ValueError(_("--dim {dim}: between 2 and 16").format(dim=dim))
    dim = int(dim)
    fns = numpy_functions()
    expr = parse_matrix(answer, ("s", "z"), fns)
    zs = _points(seed, dim, POINTS)
    ss = [_forward(key)(z) for z in zs]
    engine = [_engine(key, z) for z in zs]
    oracle = [_sympy(key, z) for z in zs]
    notes = []
    if not all(_same(a, b) for a, b in zip(engine, oracle, strict=True)):
        notes.append(_("dagrad's Jacobian and SymPy's differ at these points — a dagrad bug; "
                       "please report it"))
    question = _("the Jacobian {d} of {s}, {z}, as a matrix in s and z").format(
        d="∂s/∂z", s=f"s = {key}(z)", z=f"z ∈ ℝ^{dim}")
    how = _("compared at {n} random points {z} with dg.jacobian of {name} and with SymPy's "
            "Jacobian of its forward").format(n=POINTS, z=f"z ∈ ℝ^{dim}", name=key)
    read_as = [expr.reading] if expr.reading.replace(" ", "") != answer.replace(" ", "") else []
    try:
        yours = [expr.evaluate({"s": s.reshape(-1, 1), "z": z.reshape(-1, 1)}, fns, dim)
                 for s, z in zip(ss, zs, strict=True)]
    except MatrixShapeError as e:
        report = CheckReport("jacobian", question, answer, WRONG, how,
                             [_("your expression is not defined: {error}").format(error=e)],
                             read_as=read_as,
                             notes=notes)
        return report
    inner = expr.inner_products
    right = all(_same(y, t) for y, t in zip(yours, oracle, strict=True))
    diagnosis = [] if right else _diagnose(key, yours, oracle, zs, ss, expr, fns, dim)
    if inner and not right:
        diagnosis.append(_("{expr} is a number (an inner product {inner}); the outer product "
                           "{outer} is the {size} matrix with entries {entry}").format(
                               expr=inner[0], inner="sᵀs", outer="s @ sᵀ", size="n×n",
                               entry="s_i·s_j"))
    report = CheckReport("jacobian", question, answer, RIGHT if right else WRONG, how,
                         diagnosis, read_as=read_as, notes=notes)
    z0 = zs[0]
    report.point = {f"z{i + 1}": float(v) for i, v in enumerate(z0)}
    y0 = np.asarray(yours[0], dtype=np.float64)
    if not right:
        report.values = {"yours (1,1)": float(y0.flat[0]) if y0.size else float("nan"),
                         "right (1,1)": float(oracle[0][0, 0])}
    rows = [[f"({i + 1},{j + 1})", float(oracle[0][i, j]), float(engine[0][i, j]),
             float(y0[i, j]) if y0.shape == oracle[0].shape else "—"]
            for i in range(min(dim, 3)) for j in range(min(dim, 3))]
    report.tables.append(Table(_("entries at the first point"),
                               [_("entry"), "SymPy", "dg.jacobian", _("yours")], rows))
    report.data.update(yours=yours, sympy=oracle, engine=engine, points=zs)
    return report
