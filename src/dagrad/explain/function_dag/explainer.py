"""The gradient of a function read off its DAG: edges, local derivatives, chain rule, checks.

``dag_gradient(g, expected=..., expected_formulas=...)`` takes a recorded DAG (``dg.graph`` or
``dg.trace``) and returns a :class:`DagGradientReport`: the value, ∇f by backprop, every edge's
local derivative ∂target/∂source, the reverse pass node by node, ∂f/∂x as a formula (the sum over
paths of the product of edge formulas, simplified by SymPy) and the checks.  The independent
checks compare with a gradient derived by hand (numbers at the point and, through the safe
parser and SymPy, formulas); the formulas' values at the point are compared with backprop too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...i18n import N_, _
from ..rendering import DagRendering

if TYPE_CHECKING:
    from ...dag.model import Graph

__all__ = ["DagCheck", "DagGradientReport", "dag_gradient"]


@dataclass
class DagCheck:
    """One comparison: what was computed, what it was compared with, and whether they agree.

    ``name``, ``ours``, ``oracle`` and ``detail`` are English (``name`` is the check's key);
    ``msgids`` holds the four as catalog templates filled from ``args``, so that
    :meth:`localized` writes them in the language active when the report is rendered.
    """

    name: str
    ours: str
    oracle: str
    ok: bool
    detail: str
    msgids: tuple[str, str, str, str] | None = None
    args: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, ok: bool, name: str, ours: str, oracle: str, detail: str, /,
           **args: str) -> DagCheck:
        """A check from four msgid templates (English) and the values they name."""
        msgids = (name, ours, oracle, detail)
        return cls(*(m.format(**args) for m in msgids[:3]), ok, detail.format(**args),
                   msgids=msgids, args=dict(args))

    def localized(self) -> tuple[str, str, str, str]:
        """(name, ours, oracle, detail) in the current language."""
        if self.msgids is None:
            return self.name, self.ours, self.oracle, self.detail
        return tuple(_(m).format(**self.args) for m in self.msgids)  # type: ignore[return-value]


@dataclass
class DagGradientReport(DagRendering):
    """∇f of a scalar function from its DAG, with the edge formulas and the checks.

    ``formulas[x]`` is ∂f/∂x by the chain rule (a SymPy expression), ``None`` when the formula
    was refused as too deep (``refused[x]`` says why); ``notes[x]`` says when it was left
    unsimplified.  ``checks`` holds the comparisons; ``ok`` is true when all pass.
    """

    graph: Graph
    title: str
    value: float
    gradient: dict[str, float]
    formulas: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    checks: list[DagCheck] = field(default_factory=list)
    symbolic: bool = True

    _renderer = "function_dag.render"

    @property
    def ok(self) -> bool:
        """True when every check passes."""
        return all(c.ok for c in self.checks)

    @property
    def output(self) -> str:
        """The output node's name (``f``)."""
        return self.graph.output.name

    def edge_rows(self) -> list[tuple[str, str, str, str]]:
        """(edge, ∂target/∂source, formula, value) for every edge that carries a gradient."""
        return [(f"{e.source} → {e.target}", f"∂{e.target}/∂{e.source}", e.formula,
                 f"{float(np.asarray(e.value)):g}")
                for e in self.graph.edges if e.differentiable and not e.constant]

    def dag_dot(self, level: str = "fold") -> str:
        """The DAG as Graphviz DOT (``level``: ``fold`` constants into the ops, or ``nodes``)."""
        return self.graph.to_dot(constants=level)

    def lines(self, *, unicode: bool = True, latex: bool = False) -> list[str]:
        """The terminal report as lines: value, gradient, derivation, formulas and checks."""
        return self._render().report_lines(self, unicode=unicode, latex=latex)


def _formulas(g: Graph) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    import warnings

    from ...dag.limit import SymbolicLimitError, SymbolicLimitWarning

    formulas: dict[str, Any] = {}
    refused: dict[str, str] = {}
    notes: dict[str, str] = {}
    for x in g.leaves:
        try:
            with warnings.catch_warnings():  # said once in the report, not as Python warnings
                warnings.simplefilter("ignore", SymbolicLimitWarning)
                formulas[x.name] = g.gradient_formula(x.name)
        except SymbolicLimitError as e:
            refused[x.name] = str(e)
            continue
        note = g.simplification_note(x.name)
        if note:
            notes[x.name] = note
    return formulas, refused, notes


def _at_point(formula: Any, g: Graph) -> float:
    point = {s: float(np.asarray(g[s.name].value)) for s in formula.free_symbols}
    try:
        v = formula.xreplace(point)  # a bare symbol becomes the float itself
        return float(v.evalf() if hasattr(v, "evalf") else v)
    except (TypeError, ValueError):
        return float("nan")


def _formula_check(g: Graph, formulas: Mapping[str, Any],
                   gradient: Mapping[str, float]) -> DagCheck | None:
    finite = {x: f for x, f in formulas.items() if np.isfinite(gradient[x])}
    if not finite:
        return None  # SymPy's zoo/oo do not compare as floats
    ok = all(bool(np.isclose(_at_point(f, g), gradient[x], rtol=1e-9, atol=1e-12))
             for x, f in finite.items())
    return DagCheck.of(ok, N_("formulas at the point"),
                       N_("∂f/∂x by the chain rule, evaluated at the point"), N_("backprop's ∇f"),
                       N_("the formulas at this point equal backprop") if ok
                       else N_("MISMATCH between the formulas and backprop"))


def _numeric_check(gradient: Mapping[str, float], expected: Mapping[str, float]) -> DagCheck:
    ok = all(abs(gradient[x] - v) <= 1e-9 * max(1.0, abs(v)) for x, v in expected.items())
    ours = ", ".join(f"{gradient[x]:g}" for x in expected)
    want = ", ".join(f"{v:g}" for v in expected.values())
    return DagCheck.of(ok, N_("∇f at the point"), N_("backprop over the DAG"),
                       N_("the gradient derived by hand"),
                       N_("({ours}) vs ({want}), relative difference ≤ 1e-9") if ok
                       else N_("MISMATCH: ({ours}) vs ({want})"), ours=ours, want=want)


def _symbolic_check(formulas: Mapping[str, Any], expected: Mapping[str, str]) -> DagCheck:
    import sympy

    from ...expression import parse, to_sympy

    def same(x: str) -> bool:
        f = formulas.get(x)
        if f is None:
            return False
        ours = f.xreplace({s: sympy.Symbol(s.name, real=True) for s in f.free_symbols})
        return sympy.simplify(ours - to_sympy(parse(expected[x]))) == 0

    ok = all(same(x) for x in expected)
    hand = ", ".join(expected.values())
    return DagCheck.of(ok, N_("∇f as a formula"),
                       N_("the chain rule over the DAG (sum over paths of the product of the edge "
                          "formulas)"),
                       N_("the gradient derived by hand ({hand}); SymPy simplifies the difference"),
                       N_("difference = 0") if ok else N_("difference ≠ 0"), hand=hand)


def dag_gradient(g: Graph, *, title: str | None = None,
                 expected: Mapping[str, float] | None = None,
                 expected_formulas: Mapping[str, str] | None = None,
                 symbolic: bool = True) -> DagGradientReport:
    """Explain ∇f = (∂f/∂x_i), ∂f/∂x = Σ_paths Π_edges ∂target/∂source, of a scalar DAG ``g``.

    ``expected``: the hand-derived ∇f at the point, by variable; ``expected_formulas``: the
    hand-derived ∂f/∂x as expressions the safe parser reads (``"200*(x2 - x1**2)"``).  Both are
    optional; each adds an independent check.  ``symbolic=False`` skips SymPy entirely.
    """
    gradient = {x.name: float(np.asarray(x.grad)) for x in g.leaves}
    report = DagGradientReport(g, title or f"The DAG of {g.output.name}",
                               float(np.asarray(g.output.value)), gradient, symbolic=symbolic)
    if expected is not None:
        unknown = sorted(set(expected) - set(gradient))
        if unknown:
            raise ValueError(_("expected names {names}, not inputs of the DAG").format(
                names=", ".join(unknown)))
        report.checks.append(_numeric_check(gradient, expected))
    if symbolic:
        report.formulas, report.refused, report.notes = _formulas(g)
        check = _formula_check(g, report.formulas, gradient)
        if check is not None:
            report.checks.append(check)
        if expected_formulas is not None:
            report.checks.append(_symbolic_check(report.formulas, expected_formulas))
    return report
