"""The DAG of a parsed expression at a point, as ``dagrad graph`` draws it (same node names)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..expression import Expression
from ..i18n import _

if TYPE_CHECKING:
    from ..dag.model import Graph

__all__ = ["graph_at", "default_point", "leaf_exprs", "edge_in_leaves", "path_text"]


def graph_at(expr: Expression, point: Mapping[str, float]) -> Graph:
    """The recorded DAG of ``expr`` with float64 leaves at ``point`` (names as ``dagrad graph``)."""
    from ..dag import graph
    from ..tensor import Tensor

    if not expr.variables:
        raise ValueError(_("the expression {source!r} has no variables, so there is nothing "
                           "to differentiate").format(source=expr.source))
    leaves = {v: Tensor(np.asarray(float(point[v]), dtype=np.float64), requires_grad=True,
                        name=v) for v in expr.variables}
    with np.errstate(all="ignore"):
        out = expr.evaluate(leaves)
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ValueError(_("the expression {source!r} does not depend on its variables").format(
            source=expr.source))
    return graph(out)


def default_point(expr: Expression, seed: int = 0) -> dict[str, float]:
    """A random point (small rationals, as floats) where the expression is finite, if one of
    those tried is (the DAG and its names do not depend on the point)."""
    from ..expression import numpy_functions
    from .numeric import random_points

    fns = numpy_functions()

    def finite(p: Mapping[str, Any]) -> bool:
        with np.errstate(all="ignore"):
            try:
                v = expr.evaluate({k: float(x) for k, x in p.items()}, fns)
            except (ZeroDivisionError, ValueError, OverflowError):
                return False
        return bool(np.all(np.isfinite(v)))

    pts = random_points(expr.variables, 1, seed=seed, valid=finite) or \
        random_points(expr.variables, 1, seed=seed)  # the DAG's shape is the same anywhere
    return {k: float(v) for k, v in pts[0].items()}


def leaf_exprs(g: Graph) -> dict[Any, Any]:
    """Intermediate node symbol -> its forward formula in the leaves (bounded, from the ops'
    SymPy forwards)."""
    from ..dag import symbolic
    from ..dag.kinds import CONST, LEAF

    g.forward_formula()  # checks the limits and builds the formulas in a bounded child
    fwd = symbolic.forward_exprs(g)
    sym = symbolic.symbols(g)
    return {sym[n.name]: fwd[n.name] for n in g.nodes if n.kind not in (CONST, LEAF)}


def edge_in_leaves(edge: Any, subs: Mapping[Any, Any]) -> Any:
    """∂target/∂source of an edge written in the leaves."""
    return edge.expr.xreplace(dict(subs))


def path_text(path: list[Any], start: str = "") -> str:
    """"x1 → v1 → v2 → f" (the empty path from the output to itself: its name, ``start``)."""
    if not path:
        return start
    return " → ".join([path[0].source] + [e.target for e in path])


def finite(x: float) -> bool:
    """True for a finite float."""
    return math.isfinite(x)
