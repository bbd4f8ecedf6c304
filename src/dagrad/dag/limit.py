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

from ..i18n import N_, _

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
            message = (_("{name} must be a positive whole number, got {raw}") if self.whole
                       else _("{name} must be a positive number, got {raw}"))
            raise ValueError(message.format(name=self.env, raw=repr(raw))) from None

    def _positive(self, n: float, what: str) -> float:
        if n != n or n in (float("inf"), float("-inf")):
            raise ValueError(_("{name} must be finite, got {n}").format(name=what, n=n))
        if self.whole:
            n = int(n)
        if n <= 0 or (self.whole and n < 1):
            raise ValueError(_("{name} must be at least 1, got {n}").format(name=what, n=n))
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

#: action -> (the refusal, translated when raised; the argument that raises the limit; its
#: environment variable)
_ACTIONS = {
    "draw": (N_("refusing to draw a graph of {size}: the limit is {limit} (Graphviz's layout "
                "time grows fast with size). Raise it with {arg} or the environment variable "
                "{env}={n}, or draw a smaller part (dg.graph of an intermediate tensor)."),
             "max_nodes={n} (render, to_dot, to_html)", DRAW.env),
    "write": (N_("refusing to write out the derivation of a graph of {size}: the limit is "
                 "{limit} (one line per node and per edge). Raise it with {arg} or the "
                 "environment variable {env}={n}, or write out a smaller part (dg.graph of an "
                 "intermediate tensor)."),
              "max_nodes={n} (derivation, to_latex)", DRAW.env),
    "build": (N_("refusing to build a graph of {size}: the limit is {limit} (building takes "
                 "time and memory in proportion). Raise it with {arg} or the environment "
                 "variable {env}={n}, or take the graph of an intermediate tensor."),
              "max_nodes={n} (dg.graph, dg.trace)", GRAPH.env),
}


class GraphTooLargeError(ValueError):
    """A graph has more nodes than the limit for what was asked (draw, write out, build)."""

    def __init__(self, count: int, limit: int, action: str = "draw") -> None:
        self.count, self.limit, self.action = count, limit, action
        message, arg, env = _ACTIONS[action]
        if action == "build":  # the walk stopped at limit + 1: the true count is not known
            size, n = _("more than {count} nodes").format(count=f"{limit:,}"), 10 * limit
        else:
            size, n = _("{count} nodes").format(count=f"{count:,}"), count
        super().__init__(_(message).format(size=size, limit=f"{limit:,}", arg=arg.format(n=n),
                                           env=env, n=n))

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
    lines = [_("Graph not drawn: {count} nodes > limit {limit}.").format(
                 count=f"{error.count:,}", limit=f"{error.limit:,}"),
             _("Raise it: {call} or {env}={count}.").format(
                 call=f"g.render(path, max_nodes={error.count})", env=ENV_VAR, count=error.count)]
    rows = "".join(f'<text x="12" y="{24 + 20 * i}">{html.escape(t)}</text>'
                   for i, t in enumerate(lines))
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="560" height="62" '
            'font-family="DejaVu Sans, sans-serif" font-size="13">'
            '<rect x="0.5" y="0.5" width="559" height="61" rx="6" fill="#fff8e1" '
            f'stroke="#c9a227"/>{rows}</svg>')
