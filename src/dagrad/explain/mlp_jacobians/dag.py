"""The MLP's DAG as Graphviz DOT: x → z1 → … → zn → L ← y, each edge labelled with its Jacobian.

The fine level adds o^(l) = W^(l) z^(l−1) + b^(l) as nodes, with W^(l) and b^(l) feeding them.
Labels are Graphviz HTML-like labels built from escaped text, one plain run per line with Unicode
scripts (z⁽¹⁾ ∈ ℝ²⁵⁶): Graphviz 2.43 misplaces superscript runs in a browser.  The DAG runs top
to bottom, so it fits the width of a printed page.
"""

from __future__ import annotations

import html

from ...web.unicode_math import sup
from .model import MLPSpec

__all__ = ["dag_dot"]


def _node(name: str) -> str:
    """HTML label text of a node name: z3 → z⁽³⁾."""
    if name[:1] in "zobW" and name[1:].isdigit():
        return f"{html.escape(name[0])}{sup(f'({name[1:]})')}"
    return html.escape(name)


def _jac(out: str, inp: str) -> str:
    """The Jacobian J_z3(z2) as a label: ∂z⁽³⁾/∂z⁽²⁾."""
    return f"∂{_node(out)}/∂{_node(inp)}"


def _lab(*lines: str) -> str:
    return "<" + "<BR/>".join(lines) + ">"


def dag_dot(spec: MLPSpec, level: str = "layer", label: int | None = None) -> str:
    """DOT source of the layer-level (or ``level="fine"``) DAG of the MLP and its loss."""
    import graphviz

    if level not in ("layer", "fine"):
        raise ValueError(f"level must be 'layer' or 'fine', got {level!r}")
    n, sizes = spec.depth, spec.sizes
    font = "DejaVu Sans"
    g = graphviz.Digraph("mlp", graph_attr={"rankdir": "TB", "nodesep": "0.35",
                                            "ranksep": "0.45", "fontname": font},
                         node_attr={"fontname": font, "fontsize": "12"},
                         edge_attr={"fontname": font, "fontsize": "10"})
    dim = lambda k: f"ℝ{sup(k)}"
    g.node("x", _lab(f"<B>x ∈ {dim(sizes[0])}</B>"), shape="box", style="rounded")
    prev = "x"
    for l in range(1, n + 1):
        fn = "softmax" if l == n else html.escape(spec.activation)
        z, o = f"z{l}", f"o{l}"
        bias = f" + {_node(f'b{l}')}" if spec.biases[l - 1] is not None else ""
        if level == "fine":
            g.node(o, _lab(f"<B>{_node(o)} ∈ {dim(sizes[l])}</B>",
                           f"{_node(f'W{l}')}{_node(prev)}{bias}"))
            g.edge(prev, o, _lab(f"{_jac(o, prev)} = {_node(f'W{l}')}",
                                 f"{sizes[l]}×{sizes[l - 1]}"))
            for p, lab in ((f"W{l}", f"{sizes[l]}×{sizes[l]}×{sizes[l - 1]}"),
                           (f"b{l}", f"I, {sizes[l]}×{sizes[l]}")):
                if p.startswith("b") and spec.biases[l - 1] is None:
                    continue
                g.node(p, _lab(_node(p)), shape="box", color="gray50", fontcolor="gray30")
                g.edge(p, o, _lab(_jac(o, p), html.escape(lab)), color="gray50",
                       fontcolor="gray30", style="dashed")
            g.node(z, _lab(f"<B>{_node(z)} ∈ {dim(sizes[l])}</B>", f"{fn}({_node(o)})"))
            g.edge(o, z, _lab(_jac(z, o), f"{sizes[l]}×{sizes[l]}"))
        else:
            g.node(z, _lab(f"<B>{_node(z)} ∈ {dim(sizes[l])}</B>",
                           f"{fn}({_node(f'W{l}')}{_node(prev)}{bias})"))
            g.edge(prev, z, _lab(_jac(z, prev), f"{sizes[l]}×{sizes[l - 1]}"))
        prev = z
    y_txt = "y" if label is None else f"y = {label + 1} (label {label})"
    g.node("y", _lab(html.escape(y_txt)), shape="diamond", fontsize="11")
    g.node("L", _lab(f"<B>L = −log {_node(prev)}[y]</B>"), shape="box", style="rounded",
           peripheries="2")
    g.edge(prev, "L", _lab(_jac("L", prev), f"1×{sizes[-1]}"))
    g.edge("y", "L", _lab("selects"), style="dashed")
    return g.source
