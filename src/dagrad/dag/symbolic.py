"""SymPy views of a Graph, built only from the op table's ``formula`` and ``symbolic`` entries.

Every node is a real SymPy symbol named after it (scalar constants are their exact number).
An edge's formula is the op's ``formula`` for that input, called with the input and output
symbols; the symbolic chain rule sums, over the paths from a node to the output, the product of
those formulas, then substitutes each intermediate symbol by its forward expression
(``op.symbolic``) and simplifies.  SymPy is imported here, on use.  The public entry points
for whole formulas (:func:`.bounded.gradient_formula`, :func:`.bounded.forward_formula`) go through
:mod:`dagrad.dag.bounded`, which checks the limits first and bounds SymPy's time and memory.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ..i18n import N_, _
from ..ops.base import Template
from . import limit, local
from .kinds import CONST, LEAF

if TYPE_CHECKING:
    from .model import Edge, Graph, Node

__all__ = [
    "sympy_module", "symbols", "node_symbol", "edge_expr", "edge_text", "forward_exprs",
    "local_expr", "node_text", "raw_gradient",
    "pretty_text", "latex_expr", "latex_name", "fmt_number", "simplest",
]
_SIMPLE_NAME = re.compile(r"[A-Za-z]+[0-9]*(_[A-Za-z0-9]+)?\Z")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def sympy_module() -> Any:
    """SymPy, or an ImportError saying how to install it."""
    try:
        import sympy
    except ImportError as e:  # pragma: no cover - sympy is installed with dagrad[symbolic]
        raise ImportError(_("formulas and derivations need SymPy: pip install sympy "
                            "(or pip install 'dagrad[symbolic]')")) from e
    return sympy


# ----- numbers and symbols --------------------------------------------------------------------
def fmt_number(v: Any) -> str:
    """A value for people: floats with 6 significant digits, small arrays inline, else a shape."""
    a = np.asarray(v)
    if a.size == 1:
        x = a.reshape(()).item()
        if isinstance(x, bool):
            return str(x)
        if isinstance(x, int):
            return str(x)
        s = f"{x:.6g}"
        return "0" if s == "-0" else s
    if a.size <= 6:
        text = np.array2string(a, precision=4, separator=", ", max_line_width=10_000)
        return re.sub(r"\s*\n\s*", " ", text)
    return _("array of shape {shape}").format(shape=a.shape)


def _exact(v: np.ndarray) -> Any:
    """A scalar constant as an exact SymPy number (short decimals as fractions: 0.5 -> 1/2)."""
    sp = sympy_module()
    x = v.reshape(()).item()
    if isinstance(x, bool | int):
        return sp.Integer(int(x))
    if not np.isfinite(x):
        return sp.nan if np.isnan(x) else (sp.oo if x > 0 else -sp.oo)
    if float(x).is_integer():
        return sp.Integer(int(x))
    text = np.format_float_positional(v.reshape(()), unique=True, trim="-")
    digits = text.lstrip("-").replace(".", "").strip("0")
    return sp.Rational(text) if len(digits) <= 8 else sp.Float(x, 15)


def node_symbol(node: Node) -> Any:
    """The SymPy object standing for a node: its exact value for scalar constants, else a symbol."""
    sp = sympy_module()
    if node.kind == CONST and node.is_scalar:
        return _exact(node.value)
    return sp.Symbol(node.name, real=True)


def symbols(graph: Graph) -> dict[str, Any]:
    """Node name -> SymPy symbol (or exact number for scalar constants); cached on the graph."""
    cached = graph.__dict__.get("_symbols")
    if cached is None:
        cached = {n.name: node_symbol(n) for n in graph.nodes}
        graph.__dict__["_symbols"] = cached
    return cached


# ----- local derivatives on the edges ---------------------------------------------------------
def _formula_entry(graph: Graph, edge: Edge) -> Any:
    op = graph[edge.target].op_entry
    if op is None or not op.formula or edge.slot >= len(op.formula):
        return None
    return op.formula[edge.slot]


def edge_expr(graph: Graph, edge: Edge) -> Any:
    """∂target/∂source from the op's SymPy formula (None for template or missing formulas)."""
    entry = _formula_entry(graph, edge)
    if entry is None or isinstance(entry, Template) or not edge.differentiable:
        return None
    sym = symbols(graph)
    target = graph[edge.target]
    args = [sym[name] for name in target.inputs]
    return sympy_module().sympify(entry(*args, sym[target.name], **target.attrs))


def edge_text(graph: Graph, edge: Edge, latex: bool = False, pretty: bool = False) -> str:
    """∂target/∂source as text (SymPy's str), LaTeX, or Unicode for pictures."""
    if not edge.differentiable:
        return ""
    expr = edge.expr
    if expr is not None:
        if latex:
            return latex_expr(graph, expr)
        return pretty_text(expr) if pretty else str(expr)
    entry = _formula_entry(graph, edge)
    target = graph[edge.target]
    op = target.op_entry
    if isinstance(entry, Template):
        names = {arg: n for arg, n in zip(op.args, target.inputs, strict=False)}
        names["out"] = target.name
        if latex:
            names = {k: latex_name(v) for k, v in names.items()}
        # Fill only the {arg} placeholders: LaTeX's own braces (\mathbf{1}) stay as they are.
        return re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), m.group(0)),
                      entry.latex if latex else entry.text)
    if latex:
        return (rf"\frac{{\partial {latex_name(target.name)}}}"
                rf"{{\partial {latex_name(edge.source)}}}")
    return f"∂{target.name}/∂{edge.source}"


# ----- forward expressions --------------------------------------------------------------------
def _require_scalar(graph: Graph) -> None:
    if not graph.scalar:
        big = next(n for n in graph.nodes if not n.is_scalar)
        raise ValueError(_("symbolic derivation needs a graph of scalar nodes; {name!r} has "
                           "shape {shape} (use the numeric adjoints, or trace with scalars)")
                         .format(name=big.name, shape=big.shape))


def _recursion_error(graph: Graph) -> limit.SymbolicLimitError:
    return limit.SymbolicLimitError(_(
        "symbolic derivation: SymPy ran out of Python's recursion depth on a graph {depth} ops "
        "deep (the limit in force is {limit} ops, {env}); use the numbers instead: "
        "g[name].grad, g.derivation()").format(depth=graph.depth_of(graph.output.name),
                                               limit=int(limit.DEPTH.value()),
                                               env=limit.DEPTH.env))


def forward_exprs(graph: Graph) -> dict[str, Any]:
    """Node name -> its value as a SymPy expression in the leaves, by the ops' ``symbolic``.

    In this process and unbounded: :func:`.bounded.forward_formula` checks the limits and bounds it.
    """
    _require_scalar(graph)
    cached = graph.__dict__.get("_forward")
    if cached is not None:
        return cached
    sym = symbols(graph)
    exprs: dict[str, Any] = {}
    try:
        for n in graph.nodes:
            op = n.op_entry
            if op is None:
                exprs[n.name] = sym[n.name]
                continue
            if op.symbolic is None:
                raise ValueError(_("symbolic derivation: op {op!r} (node {node!r}) has no "
                                   "symbolic form in the op table").format(op=op.name,
                                                                          node=n.name))
            exprs[n.name] = op.symbolic(*(exprs[i] for i in n.inputs), **n.attrs)
    except RecursionError:
        raise _recursion_error(graph) from None
    graph.__dict__["_forward"] = exprs
    return exprs


def local_expr(graph: Graph, node: Node) -> Any:
    """The node's own op applied to its inputs' symbols, unevaluated (``x2 - v1``, ``100*v3``)."""
    op = node.op_entry
    if op is None or op.symbolic is None:
        return None
    sp = sympy_module()
    sym = symbols(graph)
    with sp.evaluate(False):
        return op.symbolic(*(sym[i] for i in node.inputs), **node.attrs)


def node_text(graph: Graph, node: Node, fold: bool = True) -> str:
    """What a node computes, for pictures: ``x2 − v1``, ``v3²``, ``matmul(W, x)``."""
    if node.kind != "op":
        return fmt_number(node.value) if node.kind == CONST and node.is_scalar else node.name
    expr = local_expr(graph, node)
    if expr is not None:
        return pretty_text(expr)
    return f"{node.op}({', '.join(node.inputs)})"


# ----- the chain rule -------------------------------------------------------------------------
def simplest(expr: Any) -> Any:
    """The fewest-operations form among expr, factor_terms, simplify and factor (ties: expr).

    Unbounded in time: :func:`.bounded.gradient_formula` calls it in a bounded child process.
    """
    sp = sympy_module()
    if sp.count_ops(expr) > limit.SIMPLIFY_OPS:
        return expr
    candidates = [expr, sp.factor_terms(expr), sp.simplify(expr), sp.factor(expr)]
    return min(candidates, key=sp.count_ops)


def adjoint_exprs(graph: Graph) -> dict[str, Any]:
    """v̄ = Σ_children v̄_c · ∂c/∂v for every non-constant node, in the node symbols (f̄ = 1)."""
    _require_scalar(graph)
    sp = sympy_module()
    adj: dict[str, Any] = {}
    out = graph.output.name
    for n in reversed(graph.nodes):
        if n.kind == CONST:
            continue
        if n.name == out:
            adj[n.name] = sp.Integer(1)
            continue
        total = sp.Integer(0)
        for e in graph.out_edges(n.name):
            if not e.differentiable or e.target not in adj:
                continue
            if e.expr is None:
                raise ValueError(_("symbolic derivation: op {op!r} has no scalar formula")
                                 .format(op=graph[e.target].op))
            total += adj[e.target] * e.expr
        adj[n.name] = total
    return adj


def raw_gradient(graph: Graph, wrt: str) -> Any:
    """∂f/∂wrt = Σ_paths ∏ edge formulas, intermediates replaced by their forward expressions.

    The path sum is accumulated node by node (v̄ = Σ_c v̄_c ∂c/∂v), which is the same sum
    factored by distributivity and never enumerates exponentially many paths.  In this process
    and unbounded: :func:`.bounded.gradient_formula` checks the limits and bounds it.
    """
    node = graph[wrt]
    if node.kind == CONST:
        raise ValueError(f"{wrt!r} is a constant; it has no gradient")
    fwd = forward_exprs(graph)
    sym = symbols(graph)
    subs = {sym[n.name]: fwd[n.name] for n in graph.nodes if n.kind not in (CONST, LEAF)}
    try:
        return adjoint_exprs(graph)[node.name].xreplace(subs)
    except RecursionError:
        raise _recursion_error(graph) from None


def path_products(graph: Graph, wrt: str, limit: int = 1000) -> list[Any]:
    """One SymPy product of edge formulas per path from ``wrt`` to the output."""
    sp = sympy_module()
    return [sp.Mul(*(e.expr for e in path)) for path in graph.paths(wrt, limit=limit)]


# ----- printing -------------------------------------------------------------------------------
def _safe_symbols(expr: Any) -> tuple[Any, dict[str, str]]:
    """Replace symbols whose names are not plain identifiers by placeholders (for printers)."""
    sp = sympy_module()
    back: dict[str, str] = {}
    repl = {}
    for k, s in enumerate(sorted(expr.free_symbols, key=str)):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s.name):
            token = f"QQsym{k}QQ"
            back[token] = s.name
            repl[s] = sp.Symbol(token, real=True)
    if not repl:
        return expr, back
    with sp.evaluate(False):  # keep x*x as written
        return expr.xreplace(repl), back


def pretty_text(expr: Any) -> str:
    """Unicode text in the written order: ``2·x1``, ``x2 − v1``, ``v3²``, ``1 − tanh(v1)²``."""
    from sympy.printing.str import StrPrinter

    expr, back = _safe_symbols(expr)
    s = StrPrinter({"order": "none"}).doprint(expr)
    s = re.sub(r"\*\*\((-?\d+)\)", lambda m: m.group(1).translate(_SUPERSCRIPT), s)
    s = re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), s)
    s = s.replace("**", "^").replace("*", "·").replace("-", "−")
    for token, name in back.items():
        s = s.replace(token, name)
    return s


def latex_name(name: str) -> str:
    """A node name in LaTeX: x1 -> x_{1}, alpha -> \\alpha; anything else in \\texttt, escaped."""
    if _SIMPLE_NAME.match(name):
        sp = sympy_module()
        return sp.latex(sp.Symbol(name))
    table = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
             "#": r"\#", "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
             "<": r"\textless{}", ">": r"\textgreater{}"}
    return r"\texttt{" + "".join(table.get(c, c) for c in name) + "}"


def latex_expr(graph: Graph, expr: Any) -> str:
    """LaTeX of an expression in the graph's node symbols (names escaped where needed)."""
    sp = sympy_module()
    names = {s: latex_name(s.name) for s in getattr(expr, "free_symbols", ())}
    return sp.latex(expr, symbol_names=names, order="none")


def kind_label(edge: Edge) -> str:
    """A short word for the form of an edge's value."""
    return _({local.SCALAR: N_("scalar"), local.DIAGONAL: N_("diagonal"),
              local.JACOBIAN: N_("Jacobian"), local.NONE: N_("no derivative")}[edge.kind])
