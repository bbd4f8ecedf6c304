"""Check a hand-derived ∂f/∂x and locate the mistake on the DAG's paths.

The verdict compares the answer with ``sympy.diff`` of the expression's SymPy forward (an oracle
independent of dagrad's derivative rules), by a canonical form of the difference or at random
points (:func:`dagrad.check.numeric.decide`).  When the answer is wrong, the chain rule over
the DAG — ∂f/∂x = Σ_paths ∏_edges ∂target/∂source — says where: the answer's additive terms are
matched against the path contributions (least squares over values at random points), so each
path is found right, missing, off by a constant factor (a sign, a 2), or replaced by a term
that differs by a non-constant factor; terms that match no path are extra.  Each finding names
the edges on its path whose local derivative could account for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..i18n import _
from . import numeric as nm
from .dag_of import default_point, edge_in_leaves, graph_at, leaf_exprs, path_text
from .expressions import read, reading, sympy_of
from .report import RIGHT, WRONG, CheckReport, Table

__all__ = ["gradient"]

MAX_PATHS = 200       # beyond this the paths are not matched one by one
MAX_SUBSET_TERMS = 12  # the answer's terms tried in every subset (2^12 fits)


@dataclass
class _Group:
    """Paths with the same contribution (x·x has two): the paths, the contribution, values."""

    paths: list[list[Any]]
    contribution: Any
    values: np.ndarray
    start: str = ""

    @property
    def text(self) -> str:
        texts: dict[str, int] = {}
        for p in self.paths:
            t = path_text(p, self.start)
            texts[t] = texts.get(t, 0) + 1
        return _(" and ").join(
            t if k == 1 else _("{path} ({k} times: an input used {k} times by one op is one "
                               "path per use)").format(path=t, k=k) for t, k in texts.items())


def _pretty(expr: Any) -> str:
    import sympy

    from ..dag.symbolic import pretty_text

    return pretty_text(sympy.factor_terms(expr))


def _edge_name(e: Any) -> str:
    return f"{e.source} → {e.target} (∂{e.target}/∂{e.source} = {e.pretty})"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + _(" and ") + items[-1]


def _factor_words(r: Fraction) -> str:
    """"off by a factor 2 (yours is half of it)", "the sign is wrong", …"""
    sign = _("the sign is wrong") if r < 0 else ""
    k = abs(r)
    if k == 1:
        return sign
    if k.denominator == 1:
        size = _("off by a factor {k} (yours is {k} times it)").format(k=k.numerator)
    elif k.numerator == 1 and k.denominator == 2:
        size = _("off by a factor 2 (yours is half of it)")
    elif k.numerator == 1:
        size = _("off by a factor {k} (yours is 1/{k} of it)").format(k=k.denominator)
    else:
        size = _("off by a factor {p}/{q}").format(p=k.numerator, q=k.denominator)
    return _("the sign is wrong and {size}").format(size=size) if sign else size


def _coefficient(e: Any) -> Fraction | None:
    c = e.expr.as_coeff_Mul()[0]
    try:
        return Fraction(str(c)) if c.is_Rational else None
    except (ValueError, TypeError):
        return None


def _suspects_for_factor(path: list[Any], r: Fraction) -> list[Any]:
    """Edges on ``path`` whose local derivative carries the factor that r is off by."""
    found: list[Any] = []
    k = abs(r)
    if k != 1:
        wanted = {n for n in (k.numerator, k.denominator) if n > 1}
        found = [e for e in path if (c := _coefficient(e)) is not None and abs(c) in wanted]
        if not found:
            found = [e for e in path if (c := _coefficient(e)) is not None and c.denominator == 1
                     and any(c.numerator % w == 0 for w in wanted)]
    if r < 0:
        found += [e for e in path if e not in found and (c := _coefficient(e)) is not None
                  and c < 0]
    return found


def _subchains(path: list[Any]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(path)) for j in range(i + 1, len(path) + 1)]


def _ratio_story(group: _Group, extra_vals: np.ndarray, extra_expr: Any, subs: dict,
                 points: list[dict]) -> tuple[str, list[Any]]:
    """Why the answer's term differs from the group's contribution by a non-constant factor."""
    import sympy

    path = group.paths[0]
    with np.errstate(all="ignore"):
        rho = extra_vals / group.values
    edge_vals = [nm.values_at(edge_in_leaves(e, subs), points) for e in path]
    for i, j in _subchains(path):
        prod = np.prod(edge_vals[i:j], axis=0) * (len(group.paths))
        part = path[i:j]
        names = _join([_edge_name(e) for e in part])
        ok = np.isfinite(rho) & np.isfinite(prod)
        if ok.sum() < 3:
            continue
        if np.all(nm.close(rho[ok] * prod[ok], 1.0, rtol=1e-9)):
            text = (_("the missing factor is exactly the local derivative of {names}: that "
                      "edge was left out (a missing inner derivative)") if len(part) == 1 else
                    _("the missing factor is exactly the local derivative of {names}: those "
                      "edges were left out (a missing inner derivative)"))
            return text.format(names=names), part
        if np.all(nm.close(rho[ok], prod[ok], rtol=1e-9)):
            text = (_("the extra factor is exactly the local derivative of {names}: it is "
                      "counted twice") if len(part) == 1 else
                    _("the extra factor is exactly the local derivative of {names}: they are "
                      "counted twice"))
            return text.format(names=names), part
    ratio = nm.bounded_call(lambda: sympy.factor(sympy.cancel(extra_expr / group.contribution)))
    free = getattr(ratio, "free_symbols", None) or set()
    involved = [e for e in path if edge_in_leaves(e, subs).free_symbols & free] if free else []
    what = _("the factor {factor}").format(factor=_pretty(ratio)) if ratio is not None else \
        _("a factor that is not a constant")
    names = ", ".join(sorted(s.name for s in free))
    tail = (_("; look at the edges whose derivative involves {names}: {edges}").format(
        names=names, edges=_join([_edge_name(e) for e in involved])) if involved else "")
    return _("yours differs from it by {what} (not a constant: a wrong power or a wrong local "
             "derivative)").format(what=what) + tail, involved


def _fit(groups: list[_Group], target: np.ndarray) -> tuple[np.ndarray, bool]:
    """Least squares target ≈ Σ α_g c_g; (α, exact?)."""
    if not groups:
        return np.zeros(0), bool(np.all(nm.close(target, 0.0, rtol=1e-9, atol=1e-9)))
    A = np.stack([g.values for g in groups], axis=1)
    scale = max(1.0, float(np.max(np.abs(target))), float(np.max(np.abs(A))))
    alpha, *_rest = np.linalg.lstsq(A / scale, target / scale, rcond=None)
    nice = [nm.nice_fraction(a) for a in alpha]
    alpha = np.array([float(f) if f is not None else a for a, f in zip(alpha, nice,
                                                                          strict=True)])
    exact = bool(np.all(nm.close(A @ alpha, target, rtol=1e-9, atol=1e-9 * scale)))
    return alpha, exact


def _match(groups: list[_Group], terms: list[Any], term_vals: list[np.ndarray]
           ) -> tuple[np.ndarray, list[int]]:
    """The largest subset of the answer's terms that is a combination of the path
    contributions: (coefficients per group, indices of the terms left over)."""
    m = len(terms)
    if m > MAX_SUBSET_TERMS:
        alpha, exact = _fit(groups, np.sum(term_vals, axis=0))
        return (alpha, []) if exact else (np.zeros(len(groups)), list(range(m)))
    mult = np.array([len(g.paths) for g in groups], dtype=float)
    for size in range(m, -1, -1):
        best: tuple[int, np.ndarray, list[int]] | None = None
        for subset in itertools.combinations(range(m), size):
            target = np.sum([term_vals[j] for j in subset], axis=0) if subset else \
                np.zeros_like(groups[0].values if groups else np.zeros(1))
            alpha, exact = _fit(groups, target)
            if not exact:
                continue
            right = int(np.sum(nm.close(alpha, mult, rtol=1e-9)))
            if best is None or right > best[0]:
                best = (right, alpha, [j for j in range(m) if j not in subset])
        if best is not None:
            return best[1], best[2]
    return np.zeros(len(groups)), list(range(m))  # pragma: no cover - size 0 always fits


def _other_leaf_story(g: Any, wrt: str, expr: Any, vals: np.ndarray, subs: dict,
                      points: list[dict]) -> str | None:
    """An extra term that is the contribution of a path from another input."""
    for leaf in g.leaves:
        if leaf.name == wrt:
            continue
        for path in g.paths(leaf.name, limit=MAX_PATHS):
            import sympy

            c = sympy.Mul(*(edge_in_leaves(e, subs) for e in path))
            cv = nm.values_at(c, points)
            for sign in (1, -1):
                if np.all(nm.close(vals, sign * cv, rtol=1e-9)):
                    text = (_("it is the contribution of the path {path}, which starts at "
                              "{leaf}, not at {wrt}") if sign == 1 else
                            _("it is the contribution of the path {path} with the opposite "
                              "sign, which starts at {leaf}, not at {wrt}"))
                    return text.format(path=path_text(path), leaf=leaf.name, wrt=wrt)
    return None


def _locate(g: Any, wrt: str, answer: Any, truth: Any, points: list[dict]
            ) -> tuple[list[str], Table | None, list[str]]:
    """Diagnosis lines, the table of paths, and notes."""
    import sympy

    notes: list[str] = []
    paths = g.paths(wrt, limit=10 * MAX_PATHS)
    if len(paths) > MAX_PATHS:
        return ([_("{n} paths lead from {wrt} to {out}: too many to match one by one").format(
            n=len(paths), wrt=wrt, out=g.output.name)], None, notes)
    subs = leaf_exprs(g)
    groups: list[_Group] = []
    for p in paths:
        c = sympy.Mul(*(edge_in_leaves(e, subs) for e in p))
        v = nm.values_at(c, points)
        for grp in groups:
            if np.all(nm.close(grp.values, v, rtol=1e-9)):
                grp.paths.append(p)
                break
        else:
            groups.append(_Group([p], c, v, wrt))
    keep = np.all([np.isfinite(gr.values) for gr in groups], axis=0) if groups else None
    terms = list(sympy.Add.make_args(sympy.sympify(answer)))
    term_vals = [nm.values_at(t, points) for t in terms]
    if keep is not None:
        keep &= np.all([np.isfinite(v) for v in term_vals], axis=0)
        points = [p for p, k in zip(points, keep, strict=True) if k]
        for gr in groups:
            gr.values = gr.values[keep]
        term_vals = [v[keep] for v in term_vals]
    if len(points) < 3:
        return ([_("your answer is not defined at the points tried where {d} is, so its terms "
                   "cannot be matched against the paths").format(d=f"∂{g.output.name}/∂{wrt}")],
                None, notes)
    path_sum = np.sum([len(gr.paths) * gr.values for gr in groups], axis=0)
    if not np.all(nm.close(path_sum, nm.values_at(truth, points), rtol=1e-9)):
        notes.append(_("the DAG's sum over paths differs from SymPy's derivative — a dagrad "
                       "bug; please report it"))
    alpha, extra = _match(groups, terms, term_vals)
    lines: list[str] = []
    rows: list[list[str]] = []
    missing: list[int] = []
    for k, gr in enumerate(groups):
        m = len(gr.paths)
        a = alpha[k] if k < len(alpha) else 0.0
        frac = nm.nice_fraction(a / m)
        contributes = (_("the path {path} contributes {c}") if m == 1 else
                       _("the paths {path} contribute {m} × {c}")).format(
                           path=gr.text, c=_pretty(gr.contribution), m=m)
        if frac == 1:
            rows.append([gr.text, _pretty(m * gr.contribution), _("✓ present")])
            continue
        if frac == 0 or frac is None and abs(a) < 1e-12:
            missing.append(k)
            rows.append([gr.text, _pretty(m * gr.contribution), _("✗ missing")])
            continue
        yours = _pretty(sympy.nsimplify(a) * gr.contribution)
        if frac is None:
            lines.append(_("{contributes}; your answer has {a} times its contribution").format(
                contributes=contributes, a=f"{a:.6g}"))
            rows.append([gr.text, _pretty(m * gr.contribution), f"✗ × {a:.6g}"])
            continue
        words = _factor_words(frac)
        suspects = _suspects_for_factor(gr.paths[0], frac)
        look = _(" — look at {edges}").format(edges=_join([_edge_name(e) for e in suspects])) \
            if suspects else ""
        lines.append(_("{contributes}; your answer has {yours}: {words}").format(
            contributes=contributes, yours=yours, words=words) + look)
        rows.append([gr.text, _pretty(m * gr.contribution), f"✗ {yours}"])
    extra_exprs = [terms[j] for j in extra]
    extra_vals = [term_vals[j] for j in extra]
    if missing and extra:
        if len(missing) == 1:
            pairs = [(missing[0], list(range(len(extra))))]
        else:
            pairs = [(k, [i]) for k, i in zip(missing, range(len(extra)), strict=False)]
        used: set[int] = set()
        for k, idx in pairs:
            gr = groups[k]
            ex = sympy.Add(*(extra_exprs[i] for i in idx))
            story, _edges = _ratio_story(gr, np.sum([extra_vals[i] for i in idx], axis=0), ex,
                                    subs, points)
            lines.append(_("the path {path} contributes {c}; your answer has {yours} in its "
                           "place: {story}").format(path=gr.text, c=_pretty(gr.contribution),
                                                    yours=_pretty(ex), story=story))
            used.update(idx)
            missing.remove(k)
        extra = [extra[i] for i in range(len(extra)) if i not in used]
        extra_exprs = [terms[j] for j in extra]
        extra_vals = [term_vals[j] for j in extra]
    for k in missing:
        gr = groups[k]
        lines.append(_("the path {path} contributes {c}; your answer has no term for it (a "
                       "missing path: the chain rule sums every path)").format(
                           path=gr.text, c=_pretty(gr.contribution)))
    for ex, ev in zip(extra_exprs, extra_vals, strict=True):
        other = _other_leaf_story(g, wrt, ex, ev, subs, points)
        head = _("your term {term} matches no path from {wrt} to {out}").format(
            term=_pretty(ex), wrt=wrt, out=g.output.name)
        lines.append(head + (f": {other}" if other else _(" (an extra term)")))
    table = Table(_("the paths from {wrt} to {out} ({d} = their sum)").format(
        wrt=wrt, out=g.output.name, d=f"∂{g.output.name}/∂{wrt}"),
        [_("path"), _("contributes"), _("in your answer")], rows)
    return lines, table, notes


def _backprop_at(expr: Any, wrt: str, point: dict[str, float]) -> float | None:
    try:
        g = graph_at(expr, point)
        return float(np.asarray(g[wrt].grad))
    except (ValueError, KeyError, ZeroDivisionError):
        return None


def gradient(expression: str, wrt: str, answer: str, *, seed: int = 0) -> CheckReport:
    """Check a hand-derived ∂f/∂wrt = ``answer`` of f = ``expression``; locate a mistake on the
    paths of the chain rule ∂f/∂x = Σ_paths ∏_edges ∂target/∂source."""
    import sympy

    expr = read(expression, _("the expression"))
    ans = read(answer, _("the answer"))
    if wrt not in expr.variables:
        raise ValueError(_("--wrt {wrt!r}: the expression's variables are {names}").format(
            wrt=wrt, names=", ".join(expr.variables) or _("none")))
    unknown = [v for v in ans.variables if v not in expr.variables]
    if unknown:
        raise ValueError(_("the answer uses {names}, which the expression {expression!r} does "
                           "not have (its variables: {variables})").format(
                               names=", ".join(unknown), expression=expression,
                               variables=", ".join(expr.variables)))
    f_sym = sympy_of(expr)
    x = sympy.Symbol(wrt, real=True)
    truth = sympy.diff(f_sym, x)
    a_sym = sympy_of(ans)
    decision = nm.decide(a_sym, truth, expr.variables, seed=seed)
    g = graph_at(expr, default_point(expr, seed))
    out = g.output.name
    read_as = [f"{w}: {r}" for w, r in ((_("expression"), reading(expr)),
                                        (_("answer"), reading(ans))) if r]
    report = CheckReport("gradient", _("{d} of {f} = {expression}").format(
        d=f"∂{out}/∂{wrt}", f=out, expression=expression), answer,
                         RIGHT if decision.equal else WRONG, decision.how, read_as=read_as)
    report.data.update(truth=truth, answer=a_sym, graph=g, decision=decision)
    if decision.equal:
        report.diagnosis.append(f"∂{out}/∂{wrt} = {_pretty(truth)}")
        return report
    if decision.witness is not None:
        report.point = nm.float_point(decision.witness)
        report.values = {"yours": decision.a_value, "right": decision.b_value}
        bp = _backprop_at(expr, wrt, report.point)
        if bp is not None:
            report.values["dagrad backprop"] = bp
    for other in expr.variables:
        if other != wrt and nm.decide(a_sym, sympy.diff(f_sym, sympy.Symbol(other, real=True)),
                                      expr.variables, seed=seed, points=8).equal:
            report.diagnosis.append(_("your answer is {other}, not {d}").format(
                other=f"∂{out}/∂{other}", d=f"∂{out}/∂{wrt}"))
    try:
        lines, table, notes = _locate(g, wrt, a_sym, truth, decision.points)
    except (ValueError, ArithmeticError) as e:  # e.g. a graph SymPy cannot write out
        lines, table, notes = [_("could not match the answer against the paths: {error}")
                               .format(error=e)], None, []
    report.diagnosis += lines or [f"∂{out}/∂{wrt} = {_pretty(truth)}"]
    if table is not None:
        report.tables.append(table)
    report.notes += notes
    return report
