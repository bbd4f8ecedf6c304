"""Check the local derivatives a student wrote on named edges of the DAG (``v2->v3=2*v2``).

Node names are those ``dagrad graph`` draws.  The right ∂target/∂source is ``sympy.diff`` of
the target's op applied to its inputs (the op's SymPy forward, not its derivative rule); the
answer, in any node names, is compared with it after every intermediate node is written in
the inputs (:func:`dagrad.check.numeric.decide`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..expression import parse_assignments
from ..i18n import _
from . import numeric as nm
from .answers import EdgeAnswer, parse_edge
from .dag_of import default_point, graph_at, leaf_exprs
from .expressions import read, reading
from .report import RIGHT, WRONG, CheckReport, Table

__all__ = ["edges", "local_truth", "point_of"]


def point_of(expr: Any, at: str | dict | None, seed: int = 0) -> dict[str, float]:
    """The point from ``--at`` text or a dict (every variable, nothing else); else a random one."""
    if at is None or at == "" or at == {}:
        return default_point(expr, seed)
    point = parse_assignments(at) if isinstance(at, str) else {k: float(v) for k, v in at.items()}
    missing = [v for v in expr.variables if v not in point]
    extra = [v for v in point if v not in expr.variables]
    if missing or extra:
        parts = ([_("--at is missing {names}").format(names=", ".join(missing))]
                 if missing else []) + \
                ([_("--at names {names}, which the expression does not use").format(
                    names=", ".join(extra))] if extra else [])
        raise ValueError("; ".join(parts) + _(" (the expression's variables: {names})").format(
            names=", ".join(expr.variables)))
    return point


def local_truth(g: Any, source: str, target: str) -> Any:
    """∂target/∂source by sympy.diff of the target's op on its inputs' symbols (every use of
    source by the target together)."""
    import sympy

    from ..dag import symbolic

    node = g[target]
    op = node.op_entry
    if op is None or op.symbolic is None:
        raise ValueError(_("node {node!r} has no SymPy forward in the op table").format(
            node=target))
    sym = symbolic.symbols(g)
    local = op.symbolic(*(sym[i] for i in node.inputs), **node.attrs)
    return sympy.diff(local, sym[source])


def _edge_or_error(g: Any, a: EdgeAnswer) -> None:
    from ..dag.kinds import CONST

    for name in (a.source, a.target):
        if name not in g:
            raise ValueError(_("--edge {edge}: no node {name!r}; the DAG's nodes are "
                               "{nodes}").format(edge=f"{a.source}->{a.target}", name=name,
                                                 nodes=", ".join(n.name for n in g.nodes)))
    if not any(e.target == a.target for e in g.out_edges(a.source)):
        outs = ", ".join(f"{e.source}->{e.target}" for e in g.out_edges(a.source)) or _("none")
        raise ValueError(_("--edge {edge}: the DAG has no such edge (edges out of {source}: "
                           "{outs})").format(edge=f"{a.source}->{a.target}", source=a.source,
                                             outs=outs))
    if g[a.source].kind == CONST:
        raise ValueError(_("--edge {edge}: {source} is a constant; no gradient flows along its "
                           "edge").format(edge=f"{a.source}->{a.target}", source=a.source))
    if not g.scalar:
        raise ValueError(_("--edge needs a DAG of scalar nodes"))
    unknown = [v for v in a.expr.variables if v not in g]
    if unknown:
        raise ValueError(_("--edge {edge}: the derivative uses {names}, which is no node of the "
                           "DAG (nodes: {nodes})").format(
                               edge=f"{a.source}->{a.target}", names=", ".join(unknown),
                               nodes=", ".join(n.name for n in g.nodes)))


def edges(expression: str, answers: Sequence[str | EdgeAnswer], *,
          at: str | dict | None = None, seed: int = 0) -> CheckReport:
    """Check the student's ∂target/∂source = ``answer`` for each named edge ``SRC->TGT=EXPR``."""
    import sympy

    from ..dag import symbolic
    from ..expression import to_sympy

    if not answers:
        raise ValueError(_("give at least one --edge SOURCE->TARGET=DERIVATIVE"))
    expr = read(expression, _("the expression"))
    items = [a if isinstance(a, EdgeAnswer) else parse_edge(a) for a in answers]
    point = point_of(expr, at, seed)
    g = graph_at(expr, point)
    for a in items:
        _edge_or_error(g, a)
    subs = leaf_exprs(g)
    sym = symbolic.symbols(g)
    leaves = [n.name for n in g.leaves]
    at_point = {k: sympy.Rational(repr(v)) for k, v in point.items()}
    rows, diagnosis, wrong = [], [], []
    witness = None
    for a in items:
        truth = local_truth(g, a.source, a.target)
        yours = to_sympy(a.expr, {n: sym[n] for n in a.expr.variables})
        d = nm.decide(yours.xreplace(subs), truth.xreplace(subs), leaves, seed=seed)
        label = f"∂{a.target}/∂{a.source}"
        right_txt = symbolic.pretty_text(truth)
        v_right = nm.value_at(truth.xreplace(subs), at_point)
        v_yours = nm.value_at(yours.xreplace(subs), at_point)
        rows.append([f"{a.source} → {a.target}", a.text, right_txt,
                     _("✓ right") if d.equal else _("✗ wrong"), nm.fmt_value(v_yours),
                     nm.fmt_value(v_right)])
        if d.equal:
            continue
        wrong.append(a)
        line = _("{edge}: {d} = {right}, not {yours}").format(
            edge=f"{a.source} → {a.target}", d=label, right=right_txt, yours=a.text)
        ratio = nm.constant_ratio(yours.xreplace(subs), truth.xreplace(subs), d.points)
        if ratio is not None:
            line += f" — {ratio}"
        uses = [e for e in g.in_edges(a.target) if e.source == a.source]
        if len(uses) > 1:
            line += _("; {target} uses {source} {n} times: the edge's derivative is the sum "
                      "over its uses").format(target=a.target, source=a.source, n=len(uses))
        diagnosis.append(line)
        if witness is None and d.witness is not None:
            witness = (a, d)
    n = len(items)
    how = (_("each edge's derivative compared with sympy.diff of its op ({n} edge; {wrong} "
             "wrong)") if n == 1 else
           _("each edge's derivative compared with sympy.diff of its op ({n} edges; {wrong} "
             "wrong)")).format(n=n, wrong=len(wrong))
    report = CheckReport("edges", _("local derivatives on the DAG of {f} = {expression}").format(
                             f=g.output.name, expression=expression),
                         "; ".join(f"{a.source}->{a.target}={a.text}" for a in items),
                         WRONG if wrong else RIGHT, how, diagnosis,
                         read_as=[_("expression: {reading}").format(reading=r)]
                         if (r := reading(expr)) else [])
    report.read_as += [f"{a.source}->{a.target}: {r}" for a in items if (r := reading(a.expr))]
    report.tables.append(Table(_("the edges at {point}").format(
        point=", ".join(f"{k}={v:g}" for k, v in point.items())),
        [_("edge"), _("yours"), _("right"), _("verdict"), _("yours here"), _("right here")],
        rows))
    if witness is not None:
        a, d = witness
        report.point = nm.float_point(d.witness)
        report.values = {f"yours ({a.source}->{a.target})": d.a_value, "right": d.b_value}
    report.data.update(graph=g, wrong=[f"{a.source}->{a.target}" for a in wrong])
    return report
