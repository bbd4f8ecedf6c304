"""Graphviz pictures of a Graph: DOT source with HTML-like labels, rendered by ``dot``.

Nodes show the name, the op's symbol, what the node computes (``x2 − v1``), its value and its
adjoint ∂f/∂node; every edge shows ∂target/∂source as a formula and, with ``values``, its value
at this point.  Inputs sit on the first rank, the output on the last.  Constants are small grey
nodes with dashed, unlabelled edges (no gradient flows into a constant), or — with
``constants="fold"`` — left out, their value being visible in the op's formula (``100·v3``).
All user text is HTML-escaped; node ids are generated (``n0``, ``n1``, …).  With ``ids=True``
(for the HTML stepper) nodes, edges and their value/adjoint rows carry SVG ids ``dg-n0``,
``dg-n0-value``, ``dg-n0-adjoint``, ``dg-e0``, ``dg-e0-value``.  Graphs above the drawing limit
(:mod:`dagrad.dag.limit`) are refused before any label is made.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import numpy as np

from ..atomic import atomic_write
from ..i18n import _
from . import symbolic as sy
from .kinds import CONST, LEAF
from .limit import GraphTooLargeError, check_size, too_large_svg

if TYPE_CHECKING:
    from .model import Edge, Graph, Node

__all__ = ["to_dot", "render", "repr_svg", "run_dot", "FORMATS", "INSTALL_HINT"]

FORMATS = ("svg", "png", "pdf", "dot", "gv")
RANKDIRS = ("LR", "TB", "RL", "BT")
INSTALL_HINT = ("Graphviz's 'dot' program was not found on PATH. Install Graphviz: "
                "apt-get install graphviz (Debian/Ubuntu), conda install graphviz, "
                "brew install graphviz (macOS) or https://graphviz.org/download/ "
                "— or write .dot source instead, which needs no Graphviz.")
FONT = "DejaVu Sans"

_STYLE = {  # kind -> (fill, op-symbol colour, border)
    LEAF: ("#e3f2fd", "#1e5aa8", "#1e5aa8"),
    "op": ("#fffdf5", "#8a6d00", "#7a6a3a"),
    "output": ("#eaf7ea", "#2e7d32", "#2e7d32"),
}
_VALUE = "#1e5aa8"
_ADJOINT = "#b3261e"


def _e(text: object) -> str:
    """Escape user text for an HTML-like label."""
    return html.escape(str(text), quote=True)


def _num(v: object) -> str:
    return sy.fmt_number(v).replace("-", "−")


def _check(constants: str, rankdir: str) -> None:
    if constants not in ("nodes", "fold"):
        raise ValueError(f"constants must be 'nodes' or 'fold', got {constants!r}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")


# ----- labels ---------------------------------------------------------------------------------
def _tag(ids: str | None, row: str) -> str:
    """Attributes that give a label cell an SVG id (Graphviz emits ids only for links)."""
    return f' ID="{ids}-{row}" HREF="#"' if ids else ""


def _node_label(graph: Graph, node: Node, values: bool, ids: str | None = None) -> str:
    out = graph.output.name
    if node.kind == CONST:
        text = sy.node_text(graph, node)
        if node.name != text and not _auto_const_name(node.name):
            text = f"{node.name} = {text}" if node.is_scalar else node.name
        if not node.is_scalar:
            text += f" {node.shape}"
        return (f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
                f'COLOR="#9e9e9e" BGCOLOR="#f5f5f5" STYLE="rounded"><TR><TD>'
                f'<FONT COLOR="#555555">{_e(text)}</FONT></TD></TR></TABLE>>')
    style = "output" if node.name == out else node.kind
    fill, head, border = _STYLE[style]
    tag = _("input") if node.kind == LEAF else node.symbol or node.op
    rows = [f'<TR><TD ALIGN="LEFT"><B>{_e(node.name)}</B></TD>'
            f'<TD ALIGN="RIGHT"><FONT POINT-SIZE="10" COLOR="{head}"><B>{_e(tag)}</B></FONT>'
            f'</TD></TR>']
    if node.kind == "op":
        rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT">= {_e(sy.node_text(graph, node))}'
                    f'</TD></TR>')
    if not node.is_scalar:
        rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="9">{_e(_("shape"))} '
                    f'{_e(node.shape)}</FONT></TD></TR>')
    if values:
        rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT"{_tag(ids, "value")}>'
                    f'<FONT COLOR="{_VALUE}">{_e(_("value"))} '
                    f'{_e(_num(node.value))}</FONT></TD></TR>')
        if node.grad is not None:
            rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT"{_tag(ids, "adjoint")}>'
                        f'<FONT COLOR="{_ADJOINT}">'
                        f'∂{_e(out)}/∂{_e(node.name)} = {_e(_num(node.grad))}</FONT></TD></TR>')
    width = ' BORDER="2"' if node.name == out else ' BORDER="1"'
    return (f'<<TABLE{width} CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="{border}" '
            f'BGCOLOR="{fill}" STYLE="rounded">{"".join(rows)}</TABLE>>')


def _auto_const_name(name: str) -> bool:
    return name.startswith("c") and name[1:].isdigit()


def _edge_label(graph: Graph, edge: Edge, values: bool, ids: str | None = None,
                formulas: bool = True) -> str:
    rows = [f'<TR><TD><FONT POINT-SIZE="9" COLOR="#666666">∂{_e(edge.target)}/∂'
            f'{_e(edge.source)}</FONT></TD></TR>']
    if formulas:
        rows.append(f"<TR><TD{_tag(ids, 'formula')}>= {_e(edge.pretty)}</TD></TR>")
    if edge.kind == "scalar":
        if values and edge.formula != sy.fmt_number(edge.value):
            rows.append(f'<TR><TD{_tag(ids, "value")}><FONT COLOR="{_VALUE}">= '
                        f'{_e(_num(edge.value))}</FONT></TD></TR>')
    else:
        note = sy.kind_label(edge)
        src, dst = graph[edge.source].shape, graph[edge.target].shape
        shape = dst if edge.kind == "diagonal" else dst + src
        rows.append(f'<TR><TD><FONT POINT-SIZE="9">[{_e(note)} {_e(_shape_text(shape))}]'
                    f'</FONT></TD></TR>')
        if values and int(np.prod(shape, dtype=np.int64)) <= 6:
            rows.append(f'<TR><TD{_tag(ids, "value")}><FONT COLOR="{_VALUE}">= '
                        f'{_e(_num(edge.value))}</FONT></TD></TR>')
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1" '
            f'BGCOLOR="white">{"".join(rows)}</TABLE>>')


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape) if shape else _("scalar")


# ----- DOT ------------------------------------------------------------------------------------
def to_dot(graph: Graph, values: bool = True, constants: str = "nodes",
           rankdir: str = "LR", max_nodes: int | None = None, ids: bool = False,
           formulas: bool = True) -> str:
    """DOT source of the DAG; each edge labelled ∂target/∂source = formula (= value); without
    ``formulas`` (a worksheet) only ∂target/∂source."""
    _check(constants, rankdir)
    shown = [n for n in graph.nodes if not (constants == "fold" and n.kind == CONST)]
    check_size(len(shown), max_nodes)
    names = {n.name: f"n{i}" for i, n in enumerate(graph.nodes)}
    lines = [
        "digraph dagrad {",
        f'  graph [rankdir={rankdir}, fontname="{FONT}", nodesep=0.4, ranksep=0.55, '
        f'pad=0.25, bgcolor="white", newrank=true];',
        f'  node [fontname="{FONT}", fontsize=12, shape=plain];',
        f'  edge [fontname="{FONT}", fontsize=11, color="#444444", arrowsize=0.7];',
    ]
    for n in shown:
        tag = f"dg-{names[n.name]}" if ids else None
        attr = f'id="{tag}", ' if ids else ""
        lines.append(f"  {names[n.name]} [{attr}label={_node_label(graph, n, values, tag)}];")
    for k, e in enumerate(graph.edges):
        if constants == "fold" and e.constant:
            continue
        a, b = names[e.source], names[e.target]
        tag = f"dg-e{k}" if ids else None
        attr = f'id="{tag}", ' if ids else ""
        if e.constant or not e.differentiable:
            lines.append(f'  {a} -> {b} [{attr}style=dashed, color="#9e9e9e"];')
        else:
            label = _edge_label(graph, e, values, tag, formulas)
            lines.append(f"  {a} -> {b} [{attr}label={label}];")
    leaves = [names[n.name] for n in shown if n.kind == LEAF]
    if leaves:
        lines.append(f"  {{ rank=min; {'; '.join(leaves)}; }}")
    if graph.output.kind == "op":
        lines.append(f"  {{ rank=max; {names[graph.output.name]}; }}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ----- running dot ----------------------------------------------------------------------------
def run_dot(source: str, fmt: str) -> bytes:
    """Lay out DOT source with Graphviz's ``dot`` and return the picture's bytes."""
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(INSTALL_HINT)
    try:
        import graphviz
    except ImportError:  # the PyPI wrapper is optional; call dot directly
        graphviz = None
    if graphviz is not None:
        try:
            return graphviz.Source(source).pipe(format=fmt)
        except graphviz.ExecutableNotFound as e:
            raise RuntimeError(INSTALL_HINT) from e
        except graphviz.CalledProcessError as e:
            detail = (e.stderr or b"").decode("utf-8", "replace").strip()
            raise RuntimeError(f"dot failed: {detail}") from e
    proc = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"),
                          capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout


def output_format(path: str | os.PathLike) -> str:
    """The picture format named by a path's suffix (svg, png, pdf, dot, gv)."""
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the picture format from {os.fspath(path)!r}: use a "
                         f"suffix among {', '.join('.' + f for f in FORMATS)}")
    return suffix


def render(graph: Graph, path: str | os.PathLike, values: bool = True,
           constants: str = "nodes", rankdir: str = "LR", max_nodes: int | None = None,
           formulas: bool = True) -> str:
    """Write the picture to ``path`` atomically (temp file + os.replace); returns the path."""
    fmt = output_format(path)
    source = to_dot(graph, values=values, constants=constants, rankdir=rankdir,
                    max_nodes=max_nodes, formulas=formulas)
    if fmt == "png":  # sharper text than the default 96 dpi
        source = source.replace("{\n", "{\n  graph [dpi=150];\n", 1)
    data = source.encode("utf-8") if fmt in ("dot", "gv") else run_dot(source, fmt)
    with atomic_write(path, "wb") as f:
        f.write(data)
    return os.fspath(path)


def repr_svg(graph: Graph, max_nodes: int | None = None) -> str | None:
    """The SVG picture as text (a short note above the size limit; None without ``dot``)."""
    try:
        source = to_dot(graph, max_nodes=max_nodes)
    except GraphTooLargeError as e:
        return too_large_svg(e)
    try:
        return run_dot(source, "svg").decode("utf-8")
    except RuntimeError:
        return None
