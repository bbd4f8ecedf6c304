"""The DAG you can see: trace a computation, label every edge with ∂target/∂source, draw it.

``dg.trace(f, *inputs)`` and ``dg.graph(out)`` return a :class:`Graph`: ``nodes`` (name, op,
value, grad = ∂f/∂node), ``edges`` (source, target, formula, latex, value), the symbolic chain
rule (:meth:`Graph.gradient_formula`), the step-by-step derivation (:meth:`Graph.derivation`,
:meth:`Graph.to_latex`) and Graphviz pictures (:meth:`Graph.to_dot`, :meth:`Graph.render`).
Everything is derived from the op table; SymPy and Graphviz are imported only when used.
Sizes are bounded (:mod:`dagrad.dag.limit`): building, drawing and writing out refuse graphs
above a node limit at once; symbolic formulas are refused above a depth and size, and SymPy's
work runs with a time and memory limit, falling back to the unsimplified chain rule.
"""

from __future__ import annotations

from .build import graph, trace
from .limit import GraphTooLargeError, SymbolicLimitError, SymbolicLimitWarning
from .model import CONST, LEAF, OP, Edge, Graph, Node

__all__ = ["trace", "graph", "Graph", "Node", "Edge", "LEAF", "CONST", "OP",
           "GraphTooLargeError", "SymbolicLimitError", "SymbolicLimitWarning"]

