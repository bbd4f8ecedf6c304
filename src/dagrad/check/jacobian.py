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
        return ["the sign is wrong: yours is minus the Jacobian"]
    if all(_same(np.asarray(y).T, t) for y, t in zip(yours, truth, strict=True)):
        return ["yours is the transpose of the Jacobian (row i holds ∂s_i/∂z_j for every j)"]
    with np.errstate(all="ignore"):
        k = [np.asarray(y) / t for y, t in zip(yours, truth, strict=True)
             if np.asarray(y).shape == t.shape]
    if k and all(np.all(np.isfinite(r)) for r in k):
        f = nm.nice_fraction(float(k[0].flat[0]))
        if f is not None and all(np.all(nm.close(r, float(f), rtol=1e-9)) for r in k):
            out.append(f"yours is {f} times the Jacobian")
            return out
    if {"z"} & expr.names and "s" not in expr.names:
        swapped = [expr.evaluate({"z": s.reshape(-1, 1), "s": s.reshape(-1, 1)}, fns, dim)
                   for s in ss]
        if all(_same(y, t) for y, t in zip(swapped, truth, strict=True)):
            return ["you wrote z where the output s belongs: with s in place of z yours is "
                    "right (s is the activation's output, z its input)"]
    if {"s"} & expr.names and "z" not in expr.names:
        swapped = [expr.evaluate({"z": z.reshape(-1, 1), "s": z.reshape(-1, 1)}, fns, dim)
                   for z in zs]
        if all(_same(y, t) for y, t in zip(swapped, truth, strict=True)):
            return ["you wrote s where the input z belongs: with z in place of s yours is right"]
    y, t, s = np.asarray(yours[0]), truth[0], ss[0]
    if y.shape != t.shape:
        what = "a number" if y.ndim == 0 else "×".join(map(str, y.shape))
        out.append(f"yours gives {what}, but the Jacobian of {name} on {dim} inputs is "
                   f"{dim}×{dim}")
        return out
    off = ~np.eye(dim, dtype=bool)
    outer = np.outer(s, s)
    if name == "softmax" and np.all(nm.close(y - t, outer, rtol=1e-9, atol=TOL)):
        return ["the term − s @ sᵀ is missing (every entry loses s_i·s_j)"]
    if name == "softmax" and np.all(nm.close(y - t, -outer, rtol=1e-9, atol=TOL)):
        return ["− s @ sᵀ is subtracted twice"]
    diag_ok = bool(np.all(nm.close(np.diag(y), np.diag(t), rtol=TOL, atol=TOL)))
    off_ok = bool(np.all(nm.close(y[off], t[off], rtol=TOL, atol=TOL)))
    if elementwise and not np.all(nm.close(y[off], 0.0, atol=TOL)):
        out.append(f"{name} acts elementwise (s_i depends on z_i only), so its Jacobian is "
                   "diagonal; yours has off-diagonal entries")
    elif diag_ok and not off_ok:
        out.append(f"the diagonal is right but the off-diagonal entries are wrong: entry (1,2) "
                   f"is {t[0, 1]:.6g}" + (" = −s1·s2" if name == "softmax" else "")
                   + f", yours {y[0, 1]:.6g}")
    elif off_ok and not diag_ok:
        d = np.diag(y) - np.diag(t)
        if np.all(nm.close(d, -s, rtol=1e-9)):
            out.append("the diagonal term diag(s) is missing")
        elif np.all(nm.close(d, s, rtol=1e-9)):
            out.append("diag(s) is counted twice")
        else:
            out.append(f"the off-diagonal entries are right but the diagonal is wrong: entry "
                       f"(1,1) is {t[0, 0]:.6g}, yours {y[0, 0]:.6g}")
    else:
        out.append(f"entry (1,1) is {t[0, 0]:.6g}, yours {y[0, 0]:.6g}; entry (1,2) is "
                   f"{t[0, 1]:.6g}, yours {y[0, 1]:.6g}")
    return out


def jacobian(function: str, answer: str, *, seed: int = 0, dim: int = DIM) -> CheckReport:
    """Check a student's Jacobian ∂s/∂z of ``function`` (softmax or an elementwise activation),
    s = function(z), written as a matrix expression in s and z, at random points z ∈ ℝ^dim."""
    from ..expression import numpy_functions

    names = _functions()
    key = function.strip().lower().replace("-", "_")
    if key not in names:
        raise ValueError(f"jacobian of {function!r}: choose one of {', '.join(names)}")
    if not 2 <= int(dim) <= 16:
        raise ValueError(f"--dim {dim}: between 2 and 16")
    dim = int(dim)
    fns = numpy_functions()
    expr = parse_matrix(answer, ("s", "z"), fns)
    zs = _points(seed, dim, POINTS)
    ss = [_forward(key)(z) for z in zs]
    engine = [_engine(key, z) for z in zs]
    oracle = [_sympy(key, z) for z in zs]
    notes = []
    if not all(_same(a, b) for a, b in zip(engine, oracle, strict=True)):
        notes.append("dagrad's Jacobian and SymPy's differ at these points — a dagrad bug; "
                     "please report it")
    question = f"the Jacobian ∂s/∂z of s = {key}(z), z ∈ ℝ^{dim}, as a matrix in s and z"
    how = (f"compared at {POINTS} random points z ∈ ℝ^{dim} with dg.jacobian of {key} and "
           "with SymPy's Jacobian of its forward")
    read_as = [expr.reading] if expr.reading.replace(" ", "") != answer.replace(" ", "") else []
    try:
        yours = [expr.evaluate({"s": s.reshape(-1, 1), "z": z.reshape(-1, 1)}, fns, dim)
                 for s, z in zip(ss, zs, strict=True)]
    except MatrixShapeError as e:
        report = CheckReport("jacobian", question, answer, WRONG, how,
                             [f"your expression is not defined: {e}"], read_as=read_as,
                             notes=notes)
        return report
    inner = expr.inner_products
    right = all(_same(y, t) for y, t in zip(yours, oracle, strict=True))
    diagnosis = [] if right else _diagnose(key, yours, oracle, zs, ss, expr, fns, dim)
    if inner and not right:
        diagnosis.append(f"{inner[0]} is a number (an inner product sᵀs); the outer product "
                         "s @ sᵀ is the n×n matrix with entries s_i·s_j")
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
    report.tables.append(Table("entries at the first point", ["entry", "SymPy", "dg.jacobian",
                                                              "yours"], rows))
    report.data.update(yours=yours, sympy=oracle, engine=engine, points=zs)
    return report
