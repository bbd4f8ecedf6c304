"""The DAG a computation recorded: nodes with values and adjoints, edges with local derivatives.

A :class:`Graph` is built by :func:`dagrad.dag.trace` or :func:`dagrad.dag.graph`.  Nodes come
in evaluation order; names are unique.  Every edge ``source → target`` carries the local
derivative ∂target/∂source: as a SymPy-printed ``formula`` / ``latex`` (computed on first use, so
SymPy is imported only then) and as a numeric ``value`` (from the op's vjp rule, also on first
use).  An op that uses the same input twice (``x*x``) has one edge per use (``slot``), so that
sums over paths and the adjoint sums of the chain rule see each use separately.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ops.base import Op
from ..tensor import Tensor
from . import local
from .kinds import CONST, LEAF, OP

__all__ = ["Node", "Edge", "Graph", "LEAF", "CONST", "OP"]



@dataclass(eq=False)
class Node:
    """One value of the computation: an input (leaf), a constant, or the result of an op."""

    name: str
    kind: str
    value: np.ndarray = field(repr=False)
    grad: np.ndarray | None = field(repr=False)
    index: int
    op: str | None = None
    symbol: str | None = None
    inputs: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict, repr=False)
    tensor: Tensor | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the node's value."""
        return tuple(self.value.shape)

    @property
    def is_scalar(self) -> bool:
        """True when the node holds one number."""
        return self.value.size == 1

    @property
    def op_entry(self) -> Op | None:
        """The op table entry that computed this node (None for leaves and constants)."""
        return None if self.tensor is None or self.tensor._node is None else self.tensor._node[0]


class Edge:
    """``source → target`` with the local derivative ∂target/∂source (text, LaTeX, number)."""

    def __init__(self, graph: Graph, source: str, target: str, slot: int, arg: str,
                 kind: str) -> None:
        self._graph = graph
        self.source = source
        self.target = target
        self.slot = slot  # position of the source among the op's inputs
        self.arg = arg  # the op's name for that input ("a", "b", "x", "W", ...)
        self.kind = kind  # local.SCALAR | DIAGONAL | JACOBIAN | NONE

    def __repr__(self) -> str:
        return f"Edge({self.source!r} -> {self.target!r}, slot={self.slot}, kind={self.kind!r})"

    @property
    def constant(self) -> bool:
        """True when the source is a constant (no gradient flows along this edge)."""
        return self._graph[self.source].kind == CONST

    @property
    def differentiable(self) -> bool:
        """False when the op defines no derivative for this input."""
        return self.kind != local.NONE

    @functools.cached_property
    def value(self) -> float | np.ndarray | None:
        """∂target/∂source at this point: a float (scalar), the diagonal, or the full Jacobian."""
        t = self._graph[self.target].tensor
        op, inputs, attrs = t._node
        return local.local_derivative(op, inputs, t, attrs, self.slot)

    @functools.cached_property
    def expr(self) -> Any:
        """∂target/∂source as a SymPy expression in the node symbols (scalar-wise ops only)."""
        from . import symbolic

        return symbolic.edge_expr(self._graph, self)

    @functools.cached_property
    def formula(self) -> str:
        """∂target/∂source as text in the nodes' names (SymPy's printing), e.g. ``2*x1``."""
        from . import symbolic

        return symbolic.edge_text(self._graph, self)

    @functools.cached_property
    def latex(self) -> str:
        """∂target/∂source as LaTeX, e.g. ``2 x_{1}``."""
        from . import symbolic

        return symbolic.edge_text(self._graph, self, latex=True)

    @functools.cached_property
    def pretty(self) -> str:
        """∂target/∂source as Unicode text for pictures, e.g. ``2·x1``."""
        from . import symbolic

        return symbolic.edge_text(self._graph, self, pretty=True)


class Graph:
    """The recorded DAG: ``nodes`` (evaluation order), ``edges``, ``output``."""

    def __init__(self, nodes: list[Node], edge_specs: list[tuple[str, str, int, str, str]],
                 output: str) -> None:
        self.nodes: list[Node] = nodes
        self._by_name: dict[str, Node] = {n.name: n for n in nodes}
        self.edges: list[Edge] = [Edge(self, *spec) for spec in edge_specs]
        self.output: Node = self._by_name[output]
        self._out: dict[str, list[Edge]] = {n.name: [] for n in nodes}
        self._in: dict[str, list[Edge]] = {n.name: [] for n in nodes}
        for e in self.edges:
            self._out[e.source].append(e)
            self._in[e.target].append(e)

    # ----- navigation -------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Node:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no node named {name!r}; nodes: {', '.join(self._by_name)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        counts = {k: sum(n.kind == k for n in self.nodes) for k in (LEAF, CONST, OP)}
        return (f"Graph({len(self.nodes)} nodes: {counts[LEAF]} leaves, {counts[CONST]} "
                f"constants, {counts[OP]} ops; {len(self.edges)} edges; "
                f"output {self.output.name!r})")

    def node(self, name: str) -> Node:
        """The node called ``name``."""
        return self[name]

    @property
    def leaves(self) -> list[Node]:
        """The inputs that require a gradient, in evaluation order."""
        return [n for n in self.nodes if n.kind == LEAF]

    @property
    def scalar(self) -> bool:
        """True when every node holds one number (the symbolic derivation needs this)."""
        return all(n.is_scalar for n in self.nodes)

    def in_edges(self, name: str) -> list[Edge]:
        """Edges into ``name`` (one per input slot of its op)."""
        return list(self._in[self[name].name])

    def out_edges(self, name: str) -> list[Edge]:
        """Edges out of ``name`` (one per use by a later op)."""
        return list(self._out[self[name].name])

    def gradient(self) -> dict[str, np.ndarray | None]:
        """∂output/∂leaf for every leaf: the adjoints backprop computed."""
        return {n.name: n.grad for n in self.leaves}

    @property
    def depth(self) -> int:
        """The most ops on a path from an input to the output (how deeply formulas nest)."""
        return self.depth_of(self.output.name)

    def depth_of(self, name: str) -> int:
        """The most ops on a path from an input to the node ``name``."""
        depths = self.__dict__.get("_depths")
        if depths is None:
            depths = {}
            for n in self.nodes:
                depths[n.name] = 1 + max((depths[i] for i in n.inputs), default=-1) \
                    if n.kind == OP else 0
            self.__dict__["_depths"] = depths
        return depths[self[name].name]

    # ----- the chain rule as a sum over paths -------------------------------------------------
    def paths(self, wrt: str, limit: int = 100_000) -> list[list[Edge]]:
        """Every path of differentiable edges from ``wrt`` to the output (at most ``limit``)."""
        start = self[wrt].name
        goal = self.output.name
        found: list[list[Edge]] = []
        stack: list[tuple[str, list[Edge]]] = [(start, [])]
        while stack:
            name, path = stack.pop()
            if name == goal:
                found.append(path)
                if len(found) > limit:
                    raise ValueError(f"more than {limit} paths from {wrt!r} to the output")
                continue
            for e in reversed(self._out[name]):
                if e.differentiable:
                    stack.append((e.target, path + [e]))
        return found

    def path_sum(self, wrt: str) -> float:
        """Σ over paths wrt → output of ∏ edge values (scalar graphs): the chain rule by paths."""
        if not self.scalar:
            raise ValueError("path_sum: needs a graph of scalar nodes (use the adjoints otherwise)")
        total = 0.0
        for path in self.paths(wrt):
            prod = 1.0
            for e in path:
                prod *= e.value
            total += prod
        return total

    # ----- symbolic, text, pictures (helpers imported on use) ---------------------------------
    def gradient_formula(self, wrt: str, simplify: bool = True,
                         max_depth: int | None = None) -> Any:
        """∂f/∂wrt = Σ_paths ∏ ∂target/∂source as a SymPy expression in the leaves (simplified).

        Graphs deeper than ``max_depth`` (default 50 ops, ``DAGRAD_MAX_SYMBOLIC_DEPTH``) or too
        large to write out are refused with a SymbolicLimitError; simplifying is bounded in time
        and memory, and when it is skipped or stopped the unsimplified chain-rule form comes
        back with a SymbolicLimitWarning (the reason: :meth:`simplification_note`).
        """
        from . import bounded

        return bounded.gradient_formula(self, wrt, simplify=simplify, max_depth=max_depth)

    def simplification_note(self, wrt: str) -> str | None:
        """Why the last :meth:`gradient_formula` for ``wrt`` is not simplified (None if it is)."""
        from . import bounded

        return bounded.note(self, wrt)

    def forward_formula(self, name: str | None = None, max_depth: int | None = None) -> Any:
        """The node ``name`` (default: the output) as a SymPy expression in the leaves."""
        from . import bounded

        return bounded.forward_formula(self, name, max_depth=max_depth)

    def derivation(self, unicode: bool = True, max_nodes: int | None = None) -> str:
        """The forward pass, edge derivatives and v̄_k = Σ_children v̄_c·∂c/∂v_k as plain text."""
        from . import derivation

        return derivation.to_text(self, unicode=unicode, max_nodes=max_nodes)

    to_text = derivation

    def to_latex(self, max_nodes: int | None = None) -> str:
        """The same derivation as LaTeX (align* environments)."""
        from . import derivation

        return derivation.to_latex(self, max_nodes=max_nodes)

    def to_dot(self, values: bool = True, constants: str = "nodes", rankdir: str = "LR",
               max_nodes: int | None = None) -> str:
        """The DAG as Graphviz DOT source; every edge labelled with ∂target/∂source."""
        from . import render

        return render.to_dot(self, values=values, constants=constants, rankdir=rankdir,
                             max_nodes=max_nodes)

    def render(self, path: str | os.PathLike, values: bool = True, constants: str = "nodes",
               rankdir: str = "LR", max_nodes: int | None = None) -> str:
        """Draw the DAG to ``path`` (format from the suffix: svg, png, pdf, dot); returns path."""
        from . import render

        return render.render(self, path, values=values, constants=constants, rankdir=rankdir,
                             max_nodes=max_nodes)

    def to_html(self, path: str | os.PathLike, constants: str = "nodes", rankdir: str = "LR",
                title: str | None = None, max_nodes: int | None = None,
                quiz: bool = False) -> str:
        """Write a self-contained page that steps through the forward and backward passes;
        ``quiz=True`` asks each local derivative and adjoint before showing it."""
        from . import html

        return html.write(self, path, constants=constants, rankdir=rankdir, title=title,
                          max_nodes=max_nodes, quiz=quiz)

    def _repr_svg_(self) -> str | None:
        """SVG for Jupyter (None when Graphviz's ``dot`` is not installed)."""
        from . import render

        return render.repr_svg(self)
