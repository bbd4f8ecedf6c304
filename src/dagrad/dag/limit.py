"""Every limit on a graph and on the symbolic work done with it, defined once, with its error.

Each limit has a default, an environment variable, and (where a call takes one) an argument:

- drawing and writing out node by node (Graphviz's layout time grows quickly: a 5,000-op chain
  can take minutes): 2,000 nodes, ``DAGRAD_MAX_DRAW_NODES``, ``max_nodes=`` on ``render``,
  ``to_dot``, ``to_html``, ``derivation`` and ``to_latex``;
- building a Graph (``dg.graph``, ``dg.trace``): 100,000 nodes, ``DAGRAD_MAX_GRAPH_NODES``,
  ``max_nodes=``; the walk stops at the limit + 1, so a refusal is quick;
- symbolic formulas (SymPy recurses once per level and its work can grow exponentially):
  depth 50 ops (``DAGRAD_MAX_SYMBOLIC_DEPTH``, ``max_depth=``), an estimated 20,000 terms
  (``DAGRAD_MAX_SYMBOLIC_SIZE``), both checked before SymPy starts; 3 s per formula
  (``DAGRAD_SYMBOLIC_SECONDS``; simplification may use 2× that per graph) and 1 GiB
  (``DAGRAD_SYMBOLIC_MEMORY``), enforced on a child process that is stopped when it runs over;
  simplification is not tried above 200 operations or where expanding a power of a sum would
  give more than 10,000 terms (the formula is then given unsimplified, with a note saying why).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

__all__ = ["DEFAULT_MAX_NODES", "ENV_VAR", "GraphTooLargeError", "SymbolicLimitError",
           "SymbolicLimitWarning", "Limit", "DRAW", "GRAPH", "DEPTH", "SIZE", "SECONDS",
           "MEMORY", "GRAPH_BUDGET", "SIMPLIFY_OPS", "EXPANSION_TERMS", "max_draw_nodes",
           "check_size", "too_large_svg"]


@dataclass(frozen=True)
class Limit:
    """One limit: its environment variable, default and what it counts."""

    env: str
    default: float
    unit: str
    whole: bool = True

    def value(self, override: float | None = None, what: str = "max_nodes") -> float:
        """``override`` if given, else the environment variable, else the default."""
        if override is not None:
            return self._positive(override, what)
        raw = os.environ.get(self.env, "").strip().replace("_", "").replace(",", "")
        if not raw:
            return self.default
        try:
            return self._positive(float(raw), self.env)
        except (ValueError, OverflowError):
            kind = "whole number" if self.whole else "number"
            raise ValueError(f"{self.env} must be a positive {kind}, got {raw!r}") from None

    def _positive(self, n: float, what: str) -> float:
        if n != n or n in (float("inf"), float("-inf")):
            raise ValueError(f"{what} must be finite, got {n}")
        if self.whole:
            n = int(n)
        if n <= 0 or (self.whole and n < 1):
            raise ValueError(f"{what} must be at least 1, got {n}")
        return n


DRAW = Limit("DAGRAD_MAX_DRAW_NODES", 2000, "nodes")
GRAPH = Limit("DAGRAD_MAX_GRAPH_NODES", 100_000, "nodes")
DEPTH = Limit("DAGRAD_MAX_SYMBOLIC_DEPTH", 50, "ops")
SIZE = Limit("DAGRAD_MAX_SYMBOLIC_SIZE", 20_000, "terms")
SECONDS = Limit("DAGRAD_SYMBOLIC_SECONDS", 3.0, "s", whole=False)
MEMORY = Limit("DAGRAD_SYMBOLIC_MEMORY", 2**30, "bytes")
GRAPH_BUDGET = 2  # simplification may spend this many times SECONDS on one graph
SIMPLIFY_OPS = 200  # simplify is not tried on a chain-rule form with more operations
EXPANSION_TERMS = 10_000  # nor where expanding a power of a sum would give more terms

DEFAULT_MAX_NODES = DRAW.default
ENV_VAR = DRAW.env

_ACTIONS = {
    "draw": ("draw", "(Graphviz's layout time grows fast with size)",
             "max_nodes={n} (render, to_dot, to_html)", DRAW.env,
             "draw a smaller part (dg.graph of an intermediate tensor)"),
    "write": ("write out the derivation of", "(one line per node and per edge)",
              "max_nodes={n} (derivation, to_latex)", DRAW.env,
              "write out a smaller part (dg.graph of an intermediate tensor)"),
    "build": ("build", "(building takes time and memory in proportion)",
              "max_nodes={n} (dg.graph, dg.trace)", GRAPH.env,
              "take the graph of an intermediate tensor"),
}


class GraphTooLargeError(ValueError):
    """A graph has more nodes than the limit for what was asked (draw, write out, build)."""

    def __init__(self, count: int, limit: int, action: str = "draw") -> None:
        self.count, self.limit, self.action = count, limit, action
        verb, why, arg, env, instead = _ACTIONS[action]
        if action == "build":  # the walk stopped at limit + 1: the true count is not known
            size, n = f"more than {limit:,} nodes", 10 * limit
        else:
            size, n = f"{count:,} nodes", count
        super().__init__(f"refusing to {verb} a graph of {size}: the limit is {limit:,} {why}. "
                         f"Raise it with {arg.format(n=n)} or the environment variable "
                         f"{env}={n}, or {instead}.")

    def __reduce__(self) -> tuple:
        return (type(self), (self.count, self.limit, self.action))


class SymbolicLimitError(ValueError):
    """A symbolic formula was refused or stopped: it is too deep, too large or too slow."""


class SymbolicLimitWarning(UserWarning):
    """A formula is returned unsimplified because simplifying it ran over a limit."""


def max_draw_nodes(override: int | None = None) -> int:
    """The drawing limit: ``override`` if given, else $DAGRAD_MAX_DRAW_NODES, else 2,000."""
    return int(DRAW.value(override))


def check_size(count: int, max_nodes: int | None = None, action: str = "draw") -> None:
    """Raise GraphTooLargeError when ``count`` nodes exceed the drawing limit in force."""
    limit = max_draw_nodes(max_nodes)
    if count > limit:
        raise GraphTooLargeError(count, limit, action)


def too_large_svg(error: GraphTooLargeError) -> str:
    """A small SVG note standing in for a picture that was refused (for Jupyter)."""
    lines = [f"Graph not drawn: {error.count:,} nodes > limit {error.limit:,}.",
             f"Raise it: g.render(path, max_nodes={error.count}) or {ENV_VAR}={error.count}."]
    rows = "".join(f'<text x="12" y="{24 + 20 * i}">{html.escape(t)}</text>'
                   for i, t in enumerate(lines))
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="560" height="62" '
            'font-family="DejaVu Sans, sans-serif" font-size="13">'
            '<rect x="0.5" y="0.5" width="559" height="61" rx="6" fill="#fff8e1" '
            f'stroke="#c9a227"/>{rows}</svg>')
