"""Check adjoint values v̄ = ∂f/∂v a student computed node by node at a point.

The right v̄ is ``sympy.diff`` of the output with the node ``v`` cut loose as a variable of its
own (every later node rebuilt from the ops' SymPy forwards), evaluated at the point — never
dagrad's backprop, which is shown beside it.  The first wrong adjoint in backward order (the
order of the reverse pass) is named with what it should be and the terms it sums,
v̄ = Σ_children v̄_c·∂c/∂v.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..i18n import _
from . import numeric as nm
from .answers import NodeAnswer, parse_node_value, typed_digits
from .dag_of import graph_at
from .edges import point_of
from .expressions import read, reading
from .report import RIGHT, WRONG, CheckReport, Table

__all__ = ["adjoints", "adjoint_truth"]


def adjoint_truth(g: Any, name: str, point: dict[str, Any]) -> float:
    """∂output/∂name at ``point`` by SymPy: the node cut loose as a symbol, f rebuilt above it."""
    import sympy

    from ..dag import symbolic
    from ..dag.kinds import OP

    sym = symbolic.symbols(g)
    cut = sympy.Symbol(f"_cut_{name}", real=True)
    fwd = symbolic.forward_exprs(g)
    exprs: dict[str, Any] = {}
    for n in g.nodes:
        if n.name == name:
            exprs[n.name] = cut
        elif n.kind != OP:
            exprs[n.name] = sym[n.name]
        else:
            exprs[n.name] = n.op_entry.symbolic(*(exprs[i] for i in n.inputs), **n.attrs)
    d = sympy.diff(exprs[g.output.name], cut)
    pt = {sym[k]: v for k, v in point.items()}
    value = fwd[name].xreplace(pt) if g[name].kind == OP else pt[sym[name]]
    return nm.value_at(d.xreplace({cut: value}).xreplace(pt), {})


def given_names(items: Sequence[NodeAnswer], g: Any) -> list[str]:
    """The nodes answered and the nodes their adjoints sum over (their children)."""
    from ..dag.kinds import CONST

    names = {a.name for a in items}
    names |= {e.target for a in items for e in g.out_edges(a.name)}
    return [n.name for n in g.nodes if n.name in names and n.kind != CONST]


def _truths(g: Any, names: list[str], point: dict[str, Any]
            ) -> tuple[dict[str, float], list[str]]:
    """SymPy's adjoints of ``names`` in a bounded child; dagrad's backprop (said so) for any
    SymPy did not finish within the time limit."""
    import time

    from ..dag import isolate, limit

    seconds = 3 * float(limit.SECONDS.value(what=limit.SECONDS.env))
    start = time.monotonic()

    def work(emit: Any) -> None:
        for name in names:
            emit(name, adjoint_truth(g, name, point))

    out = isolate.run(work, lambda frames: start + seconds,
                      int(limit.MEMORY.value(what=limit.MEMORY.env)))
    truths = {name: float(value) for name, value in out.frames}
    late = [n for n in names if n not in truths]
    for n in late:
        truths[n] = float(np.asarray(g[n].grad))
    notes = [_("SymPy did not finish within {seconds} s ({env} × 3) for {names}: those are "
               "compared with dagrad's backprop").format(
                   seconds=f"{seconds:g}", env=limit.SECONDS.env, names=", ".join(late))
             ] if late else []
    return truths, notes


def _matches(student: NodeAnswer, right: float) -> tuple[bool, str]:
    if nm.close(student.value, right, rtol=1e-9, atol=1e-12):
        return True, _("✓ right")
    digits = typed_digits(student.text)
    if digits and digits >= 2 and right != 0:
        rounded = float(f"{right:.{digits}g}")
        if nm.close(rounded, student.value, rtol=1e-12):
            return True, _("✓ right (rounded to {digits} digits)").format(digits=digits)
    return False, _("✗ wrong")


def _bar(name: str) -> str:
    """v̄2 as the derivation writes it (the bar over the first letter)."""
    return f"{name[:1]}\u0304{name[1:]}"


def _why(g: Any, node: str, student: float, right: float, truths: dict[str, float]) -> list[str]:
    """v̄ = Σ v̄_c·∂c/∂v with numbers; which terms the student's number leaves out or adds."""
    terms = []
    for e in g.out_edges(node):
        if not e.differentiable or e.target not in truths:
            continue
        ev = float(np.asarray(e.value))
        terms.append((f"{_bar(e.target)}·∂{e.target}/∂{node}", truths[e.target], ev))
    if not terms:
        return []
    sym = " + ".join(t[0] for t in terms)
    nums = " + ".join(f"({nm.fmt_value(a)})·({nm.fmt_value(b)})" for _, a, b in terms)
    lines = [f"{_bar(node)} = {sym} = {nums} = {nm.fmt_value(right)}"]
    vals = [a * b for _, a, b in terms]
    if nm.close(student, -right, rtol=1e-9):
        lines.append(_("yours has the opposite sign"))
        return lines
    for k in range(len(terms) - 1, 0, -1):
        for subset in itertools.combinations(range(len(terms)), k):
            if nm.close(sum(vals[i] for i in subset), student, rtol=1e-9):
                left_out = [terms[i][0] for i in range(len(terms)) if i not in subset]
                lines.append(_("yours is the sum without {terms}: every edge out of {node} "
                               "adds a term").format(terms=_(" and ").join(left_out),
                                                     node=node))
                return lines
    f = nm.nice_fraction(student / right) if right else None
    if f is not None and f != 1:
        lines.append(_("yours is {f} times the right value").format(f=f))
    return lines


def adjoints(expression: str, answers: Sequence[str | NodeAnswer], *, at: str | dict,
             seed: int = 0) -> CheckReport:
    """Check the student's adjoints v̄ = ∂f/∂v (``v2=-50``, …) at the point ``at``."""
    import sympy

    from ..dag.kinds import CONST

    if not answers:
        raise ValueError(_("give at least one --adjoint NODE=VALUE"))
    if not at:
        raise ValueError(_("adjoints are numbers at a point: give it with --at, e.g. "
                           "--at x1=1.5,x2=2"))
    expr = read(expression, _("the expression"))
    items = [a if isinstance(a, NodeAnswer) else parse_node_value(a) for a in answers]
    point = point_of(expr, at, seed)
    g = graph_at(expr, point)
    if not g.scalar:
        raise ValueError(_("--adjoint needs a DAG of scalar nodes"))
    for a in items:
        if a.name not in g:
            raise ValueError(_("--adjoint {item}: no node {name!r}; the DAG's nodes are "
                               "{nodes}").format(item=f"{a.name}={a.text}", name=a.name,
                                                 nodes=", ".join(n.name for n in g.nodes)))
        if g[a.name].kind == CONST:
            raise ValueError(_("--adjoint {item}: {name} is a constant; it has no adjoint")
                             .format(item=f"{a.name}={a.text}", name=a.name))
    g.forward_formula()  # the limits are checked, the forward formulas built in a bounded child
    exact = {k: sympy.Rational(repr(v)) for k, v in point.items()}
    truths, notes = _truths(g, given_names(items, g), exact)
    given = {a.name: a for a in items}
    rows, wrong = [], []
    for n in reversed(g.nodes):  # the reverse pass's order
        if n.name not in given:
            continue
        a = given[n.name]
        ok, verdict = _matches(a, truths[n.name])
        bp = float(np.asarray(n.grad))
        if not nm.close(bp, truths[n.name], rtol=1e-9, atol=1e-12):
            notes.append(_("dagrad's backprop gives {node} = {bp}, SymPy {sympy} — a dagrad "
                           "bug; please report it").format(node=_bar(n.name), bp=f"{bp:g}",
                                                           sympy=f"{truths[n.name]:g}"))
        rows.append([_bar(n.name), a.text, nm.fmt_value(truths[n.name]), verdict,
                     nm.fmt_value(bp)])
        if not ok:
            wrong.append(a)
    diagnosis = []
    if wrong:
        first = wrong[0]
        right = truths[first.name]
        diagnosis.append(_("the first wrong adjoint in backward order is {node} = {yours}; it "
                           "should be {right}").format(node=_bar(first.name), yours=first.text,
                                                       right=nm.fmt_value(right)))
        diagnosis += _why(g, first.name, first.value, right, truths)
        later = [w.name for w in wrong[1:]]
        if later:
            diagnosis.append(_("also wrong: {nodes} (fix {first} first: the later ones sum "
                               "over it)").format(nodes=", ".join(_bar(n) for n in later),
                                                  first=_bar(first.name)))
    at_text = ", ".join(f"{k}={v:g}" for k, v in point.items())
    out = g.output.name
    report = CheckReport(
        "adjoints", _("adjoints {adjoint} of {f} = {expression} at {point}").format(
            adjoint=f"v̄ = ∂{out}/∂v", f=out, expression=expression, point=at_text),
        ", ".join(f"{a.name}={a.text}" for a in items), WRONG if wrong else RIGHT,
        _("each adjoint compared with sympy.diff of {f} with that node cut loose, at the point "
          "({n} given; {wrong} wrong)").format(f=out, n=len(items), wrong=len(wrong)), diagnosis,
        read_as=[_("expression: {reading}").format(reading=r)] if (r := reading(expr)) else [],
        notes=notes)
    report.tables.append(Table(_("the adjoints, in backward order"),
                               [_("adjoint"), _("yours"), _("right"), _("verdict"),
                                _("dagrad backprop")], rows))
    if wrong:
        report.point = dict(point)
        report.values = {f"yours ({_bar(wrong[0].name)})": wrong[0].value,
                         "right": truths[wrong[0].name]}
    report.data.update(graph=g, truths=truths, wrong=[w.name for w in wrong])
    return report
