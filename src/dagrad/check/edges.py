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
        parts = ([f"--at is missing {', '.join(missing)}"] if missing else []) + \
                ([f"--at names {', '.join(extra)}, which the expression does not use"]
                 if extra else [])
        raise ValueError("; ".join(parts) + f" (the expression's variables: "
                         f"{', '.join(expr.variables)})")
    return point


def local_truth(g: Any, source: str, target: str) -> Any:
    """∂target/∂source by sympy.diff of the target's op on its inputs' symbols (every use of
    source by the target together)."""
    import sympy

    from ..dag import symbolic

    node = g[target]
    op = node.op_entry
    if op is None or op.symbolic is None:
        raise ValueError(f"node {target!r} has no SymPy forward in the op table")
    sym = symbolic.symbols(g)
    local = op.symbolic(*(sym[i] for i in node.inputs), **node.attrs)
    return sympy.diff(local, sym[source])


def _edge_or_error(g: Any, a: EdgeAnswer) -> None:
    from ..dag.kinds import CONST

    for name in (a.source, a.target):
        if name not in g:
            raise ValueError(f"--edge {a.source}->{a.target}: no node {name!r}; the DAG's "
                             f"nodes are {', '.join(n.name for n in g.nodes)}")
    if not any(e.target == a.target for e in g.out_edges(a.source)):
        outs = ", ".join(f"{e.source}->{e.target}" for e in g.out_edges(a.source)) or "none"
        raise ValueError(f"--edge {a.source}->{a.target}: the DAG has no such edge (edges out "
                         f"of {a.source}: {outs})")
    if g[a.source].kind == CONST:
        raise ValueError(f"--edge {a.source}->{a.target}: {a.source} is a constant; no "
                         "gradient flows along its edge")
    if not g.scalar:
        raise ValueError("--edge needs a DAG of scalar nodes")
    unknown = [v for v in a.expr.variables if v not in g]
    if unknown:
        raise ValueError(f"--edge {a.source}->{a.target}: the derivative uses "
                         f"{', '.join(unknown)}, which is no node of the DAG (nodes: "
                         f"{', '.join(n.name for n in g.nodes)})")


def edges(expression: str, answers: Sequence[str | EdgeAnswer], *,
          at: str | dict | None = None, seed: int = 0) -> CheckReport:
    """Check the student's ∂target/∂source = ``answer`` for each named edge ``SRC->TGT=EXPR``."""
    import sympy

    from ..dag import symbolic
    from ..expression import to_sympy

    if not answers:
        raise ValueError("give at least one --edge SOURCE->TARGET=DERIVATIVE")
    expr = read(expression, "the expression")
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
                     "✓ right" if d.equal else "✗ wrong", nm.fmt_value(v_yours),
                     nm.fmt_value(v_right)])
        if d.equal:
            continue
        wrong.append(a)
        line = f"{a.source} → {a.target}: {label} = {right_txt}, not {a.text}"
        ratio = nm.constant_ratio(yours.xreplace(subs), truth.xreplace(subs), d.points)
        if ratio is not None:
            line += f" — {ratio}"
        uses = [e for e in g.in_edges(a.target) if e.source == a.source]
        if len(uses) > 1:
            line += (f"; {a.target} uses {a.source} {len(uses)} times: the edge's derivative is "
                     "the sum over its uses")
        diagnosis.append(line)
        if witness is None and d.witness is not None:
            witness = (a, d)
    n = len(items)
    how = (f"each edge's derivative compared with sympy.diff of its op ({n} edge"
           f"{'s' if n > 1 else ''}; {len(wrong)} wrong)")
    report = CheckReport("edges", f"local derivatives on the DAG of {g.output.name} = "
                         f"{expression}", "; ".join(f"{a.source}->{a.target}={a.text}"
                                                    for a in items),
                         WRONG if wrong else RIGHT, how, diagnosis,
                         read_as=[f"expression: {r}"] if (r := reading(expr)) else [])
    report.read_as += [f"{a.source}->{a.target}: {r}" for a in items if (r := reading(a.expr))]
    report.tables.append(Table(f"the edges at {', '.join(f'{k}={v:g}' for k, v in point.items())}",
                               ["edge", "yours", "right", "verdict", "yours here",
                                "right here"], rows))
    if witness is not None:
        a, d = witness
        report.point = nm.float_point(d.witness)
        report.values = {f"yours ({a.source}->{a.target})": d.a_value, "right": d.b_value}
    report.data.update(graph=g, wrong=[f"{a.source}->{a.target}" for a in wrong])
    return report
