"""The stepper's quiz: the questions of the backward pass, from the stepper's data.

Each backward step asks what it reveals: an edge step asks the local derivative ∂target/∂source
at this point; a step that completes a node's adjoint (its last edge, or the sum of several)
asks the adjoint x̄ = ∂f/∂x.  The answer is the number the page would show (backprop's, from
the op table's rules); the page compares what the student types with it (relative 1e-6,
fractions and arithmetic such as ``3/2`` or ``2*1.5`` accepted).  The hint names the edges that
feed the node (for a local derivative: the node's inputs; for an adjoint: the nodes it feeds).
Arrays are not asked (their steps show as usual).
"""

from __future__ import annotations

from typing import Any

from ..i18n import _

__all__ = ["questions", "RTOL"]

RTOL = 1e-6  # the page accepts |typed - answer| <= RTOL * max(|typed|, |answer|) (+ 1e-12)


def _bar(name: str) -> str:
    return name[:1] + "\u0304" + name[1:]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def questions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions of the backward pass, in step order (``step`` = index into data's steps).

    ``data`` is :func:`dagrad.dag.steps.stepper_data`'s dict: nodes, edges, steps, output."""
    nodes, edges = data["nodes"], data["edges"]
    out = nodes[data["output"]]["name"]
    feeds: dict[int, list[int]] = {}  # node -> edges into it
    uses: dict[int, list[int]] = {}  # node -> edges out of it
    for k, e in enumerate(edges):
        if e.get("gradient"):
            feeds.setdefault(e["target"], []).append(k)
            uses.setdefault(e["source"], []).append(k)
    asked: list[dict[str, Any]] = []
    for i, step in enumerate(data["steps"]):
        if step["phase"] != "backward" or step["kind"] == "seed":
            continue
        if step["kind"] == "edge":
            e = edges[step["edge"]]
            if e["kind"] == "scalar" and _number(e["value"]):
                target, source = nodes[e["target"]], nodes[e["source"]]
                inputs = ", ".join(f"{nodes[edges[k]['source']]['name']} → {target['name']}"
                                   for k in feeds.get(e["target"], []))
                asked.append({
                    "step": i, "kind": "edge", "edge": step["edge"], "node": e["target"],
                    "prompt": _("{derivative} at this point").format(derivative=e["label"]),
                    "answer": e["value"],
                    "hint": _("{node} = {formula}; the edges that feed {node}: {inputs}. "
                              "Differentiate with respect to {source} and put in the values."
                              ).format(node=target["name"], formula=target["formula"],
                                       inputs=inputs, source=source["name"]),
                })
        if step["final"] and step["kind"] in ("edge", "sum"):
            n = nodes[step["node"]]
            if _number(n["adjoint"]):
                terms = " + ".join(
                    f"{_bar(nodes[edges[k]['target']]['name'])} · {edges[k]['label']}"
                    for k in uses.get(step["node"], []))
                outs = ", ".join(f"{n['name']} → {nodes[edges[k]['target']]['name']}"
                                 for k in uses.get(step["node"], []))
                asked.append({
                    "step": i, "kind": "adjoint", "edge": None, "node": step["node"],
                    "prompt": f"{_bar(n['name'])} = ∂{out}/∂{n['name']}",
                    "answer": n["adjoint"],
                    "hint": _("{node} feeds: {outs}; {bar} = {terms} (one term per edge out "
                              "of it).").format(node=n["name"], outs=outs, bar=_bar(n["name"]),
                                                terms=terms),
                })
    return asked
