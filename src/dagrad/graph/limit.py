"""How big a graph dagrad will hand to Graphviz: refuse early and say how to raise the limit.

Graphviz's layout time grows quickly with the number of nodes (a 5,000-op chain can take
minutes), so drawing refuses graphs above a limit: 2,000 nodes by default, or the
``DAGRAD_MAX_DRAW_NODES`` environment variable, or ``max_nodes=`` on each drawing call.
"""

from __future__ import annotations

import html
import os

__all__ = ["DEFAULT_MAX_NODES", "ENV_VAR", "GraphTooLargeError", "max_draw_nodes",
           "check_size", "too_large_svg"]

DEFAULT_MAX_NODES = 2000
ENV_VAR = "DAGRAD_MAX_DRAW_NODES"


class GraphTooLargeError(ValueError):
    """A graph has more nodes than Graphviz is allowed to lay out."""

    def __init__(self, count: int, limit: int) -> None:
        self.count, self.limit = count, limit
        super().__init__(
            f"refusing to draw a graph of {count:,} nodes: the limit is {limit:,} (Graphviz's "
            f"layout time grows fast with size). Raise it with max_nodes={count} (render, "
            f"to_dot, to_html) or the environment variable {ENV_VAR}={count}, or draw a "
            f"smaller part (dg.graph of an intermediate tensor).")

    def __reduce__(self) -> tuple:
        return (type(self), (self.count, self.limit))


def max_draw_nodes(override: int | None = None) -> int:
    """The limit in force: ``override`` if given, else $DAGRAD_MAX_DRAW_NODES, else 2,000."""
    if override is not None:
        return _positive(override, "max_nodes")
    raw = os.environ.get(ENV_VAR, "").strip().replace("_", "").replace(",", "")
    if not raw:
        return DEFAULT_MAX_NODES
    try:
        return _positive(int(float(raw)), ENV_VAR)
    except (ValueError, OverflowError):
        raise ValueError(f"{ENV_VAR} must be a positive whole number, got {raw!r}") from None


def _positive(n: int, what: str) -> int:
    n = int(n)
    if n < 1:
        raise ValueError(f"{what} must be at least 1, got {n}")
    return n


def check_size(count: int, max_nodes: int | None = None) -> None:
    """Raise GraphTooLargeError when ``count`` nodes exceed the limit in force."""
    limit = max_draw_nodes(max_nodes)
    if count > limit:
        raise GraphTooLargeError(count, limit)


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
