"""The chain rule on a Graph written out step by step, as plain text or LaTeX.

Three parts: the forward pass (each node's formula and value in evaluation order), the local
derivative on every edge, and the reverse pass — one line per node in reverse evaluation order,
v̄_k = Σ_children v̄_c · ∂c/∂v_k, first with names, then with the edge formulas, then with
numbers — ending with the gradient.  Formulas come from :mod:`dagrad.dag.symbolic`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from ..i18n import _
from . import symbolic as sy
from .kinds import CONST
from .limit import check_size

if TYPE_CHECKING:
    from .model import Edge, Graph, Node

__all__ = ["to_text", "to_latex"]


# ----- small formatting helpers ---------------------------------------------------------------
def _bar(name: str, unicode: bool) -> str:
    """The adjoint's name: x̄1 (combining macron on the first letter) or adj(x1)."""
    return name[0] + "\u0304" + name[1:] if unicode else f"adj({name})"


def _d(target: str, source: str, unicode: bool) -> str:
    return f"∂{target}/∂{source}" if unicode else f"d{target}/d{source}"


def _paren(text: str) -> str:
    """Parenthesise anything but a plain name or a non-negative number."""
    return text if re.fullmatch(r"[\w.⁰¹²³⁴⁵⁶⁷⁸⁹]+", text) else f"({text})"


def _num(v: object, unicode: bool = False) -> str:
    text = sy.fmt_number(v)
    return text.replace("-", "−") if unicode else text


def _formula(edge: Edge, unicode: bool) -> str:
    return edge.pretty if unicode else edge.formula


def _node_formula(graph: Graph, node: Node, unicode: bool) -> str:
    if unicode:
        return sy.node_text(graph, node)
    expr = sy.local_expr(graph, node)
    if expr is None:
        return f"{node.op}({', '.join(node.inputs)})"
    from sympy.printing.str import StrPrinter

    return StrPrinter({"order": "none"}).doprint(expr)


def _grad_edges(graph: Graph, node: Node) -> list[Edge]:
    return [e for e in graph.out_edges(node.name) if e.differentiable]


# ----- plain text -----------------------------------------------------------------------------
def to_text(graph: Graph, unicode: bool = True, max_nodes: int | None = None) -> str:
    """Forward pass, edge derivatives and the reverse pass v̄_k = Σ v̄_c·∂c/∂v_k as text.

    One line per node and per edge: graphs above the drawing limit are refused at once.
    """
    check_size(len(graph.nodes), max_nodes, action="write")
    out = graph.output.name
    arrow = "→" if unicode else "->"
    dot = "·" if unicode else "*"
    width = max(len(n.name) for n in graph.nodes)
    lines = [_("Forward pass (evaluation order):")]
    for n in graph.nodes:
        if n.kind == CONST:
            continue
        pad = " " * (width - len(n.name))
        if n.kind == "op":
            lines.append(f"  {n.name}{pad} = {_node_formula(graph, n, unicode)} = "
                         f"{_num(n.value, unicode)}")
        else:
            lines.append(f"  {n.name}{pad} = {_num(n.value, unicode)}   " + _("(input)"))
    lines += ["", _("Local derivatives on the edges ({d}):").format(
        d=_d(_("target"), _("source"), unicode))]
    pairs = [(f"{e.source} {arrow} {e.target}", e) for e in graph.edges
             if e.differentiable and not e.constant]
    w = max((len(p) for p, _ in pairs), default=0)
    for label, e in pairs:
        text = f"  {label.ljust(w)}   {_d(e.target, e.source, unicode)} = {_formula(e, unicode)}"
        if e.kind == "scalar":
            if _formula(e, unicode) != _num(e.value, unicode):
                text += f" = {_num(e.value, unicode)}"
        else:
            text += f"   [{sy.kind_label(e)}, {_shape_note(graph, e)}]"
        lines.append(text)
    lines += ["", _("Reverse pass (adjoints {bar} = {d}, from the output back to the "
                    "inputs):").format(bar=_bar("v", unicode), d=_d(out, "v", unicode))]
    if graph.output.grad is None:
        lines.append("  " + _("(not computed: the output is not a scalar; use "
                              "dg.graph(out, grad_output=...))"))
        return "\n".join(lines)
    for n in reversed(graph.nodes):
        if n.kind == CONST:
            continue
        pad = " " * (width - len(n.name))
        lhs = f"  {_bar(n.name, unicode)}{pad} = "
        if n.name == out:
            lines.append(lhs + "1")
            continue
        edges = _grad_edges(graph, n)
        if not edges:
            lines.append(lhs + "0   " + _("({out} does not depend on {name})").format(
                out=out, name=n.name))
            continue
        names = " + ".join(f"{_bar(e.target, unicode)}{dot}{_d(e.target, e.source, unicode)}"
                           for e in edges)
        forms = " + ".join(f"{_bar(e.target, unicode)}{dot}{_paren(_formula(e, unicode))}"
                           for e in edges)
        steps = [names, forms]
        if graph.scalar:
            steps.append(" + ".join(f"{_paren(_num(graph[e.target].grad, unicode))}{dot}"
                                    f"{_paren(_num(e.value, unicode))}" for e in edges))
        lines.append(lhs + " = ".join(steps) + f" = {_num(n.grad, unicode)}")
    leaves = graph.leaves
    if leaves:
        nabla = "∇" if unicode else "grad "
        parts = ", ".join(_d(out, x.name, unicode) for x in leaves)
        vals = ", ".join(_num(x.grad, unicode) for x in leaves)
        lines += ["", _("Gradient:") + f" {nabla}{out} = ({parts}) = ({vals})"]
    return "\n".join(lines)


def _shape_note(graph: Graph, e: Edge) -> str:
    src, dst = graph[e.source].shape, graph[e.target].shape
    return _("shape {shape}").format(shape=dst if e.kind == "diagonal" else dst + src)


# ----- LaTeX ----------------------------------------------------------------------------------
def _lnum(v: object) -> str:
    """A number for LaTeX: 1e-07 -> 1 \\cdot 10^{-7}; arrays as in text, in \\texttt."""
    a = np.asarray(v)
    text = _num(a)
    if a.size != 1:
        return r"\texttt{" + text.replace("_", r"\_") + "}"
    m = re.fullmatch(r"(-?[\d.]+)e([+-])0*(\d+)", text)
    if m:
        sign = "-" if m.group(2) == "-" else ""
        return rf"{m.group(1)} \cdot 10^{{{sign}{m.group(3)}}}"
    return text


def _lparen(text: str) -> str:
    return text if re.fullmatch(r"[\w.{}\\]+", text) else rf"\left({text}\right)"


def _lbar(name: str) -> str:
    ln = sy.latex_name(name)
    m = re.fullmatch(r"([A-Za-z]|\\[A-Za-z]+)(_\{.*\})", ln)
    if m:
        return rf"\bar{{{m.group(1)}}}{m.group(2)}"
    return rf"\bar{{{ln}}}" if re.fullmatch(r"[A-Za-z]|\\[A-Za-z]+", ln) else rf"\overline{{{ln}}}"


def _ld(target: str, source: str) -> str:
    return rf"\frac{{\partial {sy.latex_name(target)}}}{{\partial {sy.latex_name(source)}}}"


def _lnode(graph: Graph, node: Node) -> str:
    expr = sy.local_expr(graph, node)
    if expr is None:
        args = ", ".join(sy.latex_name(i) for i in node.inputs)
        return rf"\operatorname{{{node.op}}}\left({args}\right)"
    return sy.latex_expr(graph, expr)


def to_latex(graph: Graph, max_nodes: int | None = None) -> str:
    """The derivation as LaTeX: align* blocks for the forward pass, edges and reverse pass."""
    check_size(len(graph.nodes), max_nodes, action="write")
    out = graph.output.name
    parts = ["% " + _("forward pass (evaluation order)"), r"\begin{align*}"]
    rows = []
    for n in graph.nodes:
        if n.kind == CONST:
            continue
        rhs = _lnum(n.value) if n.kind != "op" else f"{_lnode(graph, n)} = {_lnum(n.value)}"
        rows.append(f"{sy.latex_name(n.name)} &= {rhs}")
    parts += ["\\\\\n".join(rows), r"\end{align*}"]
    parts += ["% " + _("local derivatives on the edges"), r"\begin{align*}"]
    rows = []
    for e in graph.edges:
        if not e.differentiable or e.constant:
            continue
        row = f"{_ld(e.target, e.source)} &= {e.latex}"
        if e.kind == "scalar" and e.formula != _num(e.value):
            row += f" = {_lnum(e.value)}"
        rows.append(row)
    parts += ["\\\\\n".join(rows), r"\end{align*}"]
    if graph.output.grad is None:
        return "\n".join(parts)
    parts += ["% " + _("reverse pass: adjoints, from the output back to the inputs"),
              r"\begin{align*}"]
    rows = []
    for n in reversed(graph.nodes):
        if n.kind == CONST:
            continue
        lhs = f"{_lbar(n.name)} &= "
        if n.name == out:
            rows.append(lhs + "1")
            continue
        edges = _grad_edges(graph, n)
        if not edges:
            rows.append(lhs + "0")
            continue
        names = " + ".join(rf"{_lbar(e.target)}\,{_ld(e.target, e.source)}" for e in edges)
        forms = " + ".join(rf"{_lbar(e.target)} \cdot {_lparen(e.latex)}" for e in edges)
        steps = [names, forms]
        if graph.scalar:
            steps.append(" + ".join(rf"{_lparen(_lnum(graph[e.target].grad))} \cdot "
                                    rf"{_lparen(_lnum(e.value))}" for e in edges))
        rows.append(lhs + " = ".join(steps) + f" = {_lnum(n.grad)}")
    parts += ["\\\\\n".join(rows), r"\end{align*}"]
    leaves = graph.leaves
    if leaves:
        grads = ", ".join(_lbar(x.name) for x in leaves)
        vals = ", ".join(_lnum(x.grad) for x in leaves)
        parts.append(rf"\[ \nabla {sy.latex_name(out)} = \left({grads}\right) = "
                     rf"\left({vals}\right) \]")
    return "\n".join(parts)
