"""The stepper's data: nodes, edges and the forward/backward steps of a Graph as JSON-ready dicts.

Forward steps compute one node each, in evaluation order (constants are known from the start).
Backward steps follow reverse-mode AD: the seed f̄ = 1, then for every node in reverse
evaluation order one step per incoming edge (adjoint × local derivative, a contribution to the
source's adjoint), and a sum step where a node feeds several others (x̄1 = 150 + 1 = 151).
Contributions come from the op table's vjp rules, exactly as backprop computes them.
All text is plain Unicode; the page shows it with ``textContent`` only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autodiff import sum_to
from ..i18n import _
from . import symbolic as sy
from .kinds import CONST, LEAF, OP

if TYPE_CHECKING:
    from .model import Edge, Graph, Node

__all__ = ["stepper_data", "MAX_ARRAY"]

MAX_ARRAY = 64  # arrays up to this size go into the page as numbers, larger ones as text only
LATEX_NODES = 200  # LaTeX of the edges only up to this many nodes (SymPy's printer is slow)


def _num(v: Any) -> str:
    return sy.fmt_number(v).replace("-", "−")


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("−") or " " in text else text


def _bar(name: str) -> str:
    """The adjoint's name with a combining macron on the first character: x̄1."""
    return name[:1] + "\u0304" + name[1:]


def jsonable(v: Any) -> float | str | list | None:
    """A number or small array for JSON (non-finite numbers as the strings "inf", "nan")."""
    if v is None:
        return None
    a = np.asarray(v, dtype=np.float64)
    if a.size > MAX_ARRAY:
        return None
    if a.size == 1 and a.ndim == 0:
        x = float(a)
        return x if math.isfinite(x) else str(x)
    return [jsonable(x) for x in a]


def _shape(node: Node) -> str:
    return "" if node.is_scalar and not node.shape else "×".join(map(str, node.shape)) or "scalar"


def _node_formula(graph: Graph, node: Node) -> str:
    if node.kind == OP:
        return sy.node_text(graph, node)
    return "input" if node.kind == LEAF else "constant"


def _node(graph: Graph, node: Node, shown: bool) -> dict[str, Any]:
    return {
        "id": f"dg-n{node.index}", "name": node.name, "kind": node.kind, "op": node.op,
        "formula": _node_formula(graph, node), "shape": _shape(node), "shown": shown,
        "value": jsonable(node.value), "value_text": _num(node.value),
        "adjoint": jsonable(node.grad),
        "adjoint_text": None if node.grad is None else _num(node.grad),
        "output": node.name == graph.output.name,
    }


def _edge_value(graph: Graph, edge: Edge) -> Any:
    """The local derivative, unless it is a Jacobian too large to be worth computing."""
    if not edge.differentiable:
        return None
    if edge.kind == "jacobian":
        size = graph[edge.target].value.size * graph[edge.source].value.size
        if size > MAX_ARRAY:
            return None
    return edge.value


def _edge(graph: Graph, k: int, edge: Edge, index: dict[str, int], shown: bool) -> dict:
    value = _edge_value(graph, edge)
    flows = edge.differentiable and not edge.constant
    latex = flows and len(graph.nodes) <= LATEX_NODES
    return {
        "id": f"dg-e{k}", "source": index[edge.source], "target": index[edge.target],
        "label": f"∂{edge.target}/∂{edge.source}", "kind": edge.kind, "gradient": flows,
        "formula": edge.pretty if flows else "", "latex": edge.latex if latex else "",
        "value": jsonable(value),
        "value_text": None if value is None else _num(value), "shown": shown,
    }


def _contribution(graph: Graph, edge: Edge) -> np.ndarray:
    """adjoint(target) pushed through the op's vjp rule to the source: one term of its adjoint."""
    target = graph[edge.target]
    op, inputs, attrs = target.tensor._node
    rule = op.vjp_rule(edge.slot)
    vals = [x.data for x in inputs]
    with np.errstate(all="ignore"):
        c = np.asarray(rule(np.asarray(target.grad), *vals, target.value, **attrs))
        shape = inputs[edge.slot].data.shape
        return np.asarray(sum_to(c, shape, 0) if c.shape != shape else c)


def _forward_steps(graph: Graph) -> list[dict[str, Any]]:
    steps = []
    for n in graph.nodes:
        if n.kind == CONST:
            continue
        if n.kind == LEAF:
            text = f"{n.name} = {_num(n.value)}   " + _("(input)")
        else:
            text = f"{n.name} = {sy.node_text(graph, n)} = {_num(n.value)}"
        steps.append({"phase": "forward", "kind": "value", "node": n.index, "edge": None,
                      "text": text, "note": "", "final": False})
    return steps


def _edge_text(graph: Graph, edge: Edge, c: np.ndarray) -> str:
    """v̄3 · ∂v3/∂v2 = 100 · (2·v2 = −0.5) = −50 → v̄2."""
    t, s = edge.target, edge.source
    value = _edge_value(graph, edge)
    vtext = _num(value) if value is not None else sy.kind_label(edge)
    deriv = _paren(vtext) if edge.pretty == vtext else f"({edge.pretty} = {vtext})"
    adj = _paren(_num(graph[t].grad))
    return f"{_bar(t)} · ∂{t}/∂{s} = {adj} · {deriv} = {_num(c)}  → {_bar(s)}"


def _backward_steps(graph: Graph) -> list[dict[str, Any]]:
    out = graph.output
    if out.grad is None:
        return []
    index = {n.name: n.index for n in graph.nodes}
    number = {id(e): k for k, e in enumerate(graph.edges)}
    terms: dict[str, list[tuple[int, np.ndarray]]] = {n.name: [] for n in graph.nodes}
    steps = []
    for n in reversed(graph.nodes):
        if n.kind == CONST:
            continue
        uses = [e for e in graph.out_edges(n.name) if e.differentiable]
        got = terms[n.name]
        step = {"phase": "backward", "node": n.index, "edge": None, "final": True}
        if n is out:
            steps.append({**step, "kind": "seed", "text": f"{_bar(n.name)} = ∂{n.name}/∂"
                          f"{n.name} = 1", "note": _("the backward pass starts at the output")})
        elif not uses:
            steps.append({**step, "kind": "zero", "text": f"{_bar(n.name)} = 0",
                          "note": _("{out} does not depend on {name}").format(
                              out=out.name, name=n.name)})
        elif len(got) > 1:
            got.sort(key=lambda t: t[0])
            parts = " + ".join(_paren(_num(c)) for _, c in got)
            steps.append({**step, "kind": "sum", "text": f"{_bar(n.name)} = {parts} = "
                          f"{_num(n.grad)}", "note": _(
                              "{name} feeds {k} nodes: the chain rule adds their "
                              "contributions").format(name=n.name, k=len(got))})
        for e in graph.in_edges(n.name) if n.kind == OP else []:
            if not e.differentiable or e.constant:
                continue
            c = _contribution(graph, e)
            src = e.source
            total = sum(1 for u in graph.out_edges(src) if u.differentiable)
            terms[src].append((number[id(e)], c))
            done = len(terms[src])
            note = (f"{_bar(src)} = {_num(c)}   " + _("({src} feeds only {target})").format(
                src=src, target=e.target) if total == 1
                else _("term {k} of {n} of {adjoint}").format(k=done, n=total,
                                                               adjoint=_bar(src)))
            steps.append({"phase": "backward", "kind": "edge", "node": index[src],
                          "edge": number[id(e)], "text": _edge_text(graph, e, c),
                          "note": note, "final": total == 1,
                          "contribution": jsonable(c), "contribution_text": _num(c)})
    return steps


def stepper_data(graph: Graph, title: str, constants: str = "nodes") -> dict[str, Any]:
    """Everything the page needs, JSON-ready: title, nodes, edges, steps, the gradient line."""
    fold = constants == "fold"
    index = {n.name: n.index for n in graph.nodes}
    nodes = [_node(graph, n, not (fold and n.kind == CONST)) for n in graph.nodes]
    edges = [_edge(graph, k, e, index, not (fold and e.constant))
             for k, e in enumerate(graph.edges)]
    out = graph.output.name
    gradient = ""
    if graph.output.grad is not None and graph.leaves:
        parts = ", ".join(f"∂{out}/∂{x.name}" for x in graph.leaves)
        vals = ", ".join(_num(x.grad) for x in graph.leaves)
        gradient = f"∇{out} = ({parts}) = ({vals})"
    return {"title": title, "output": index[out], "scalar": graph.scalar, "nodes": nodes,
            "edges": edges, "steps": _forward_steps(graph) + _backward_steps(graph),
            "gradient": gradient}
