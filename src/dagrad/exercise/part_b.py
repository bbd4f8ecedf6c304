"""Part (b): a new function of +, −, × and natural powers, its DAG and ∇f by the chain rule.

The variant is a random expression tree over two or three inputs with 6–12 operations (the
Rosenbrock function of the sheet has 7) and a point of small exact numbers.  The key comes
from the engine: the text is parsed by dagrad's safe parser, evaluated on float64 leaves and
differentiated by reverse mode; :func:`dagrad.explain.dag_gradient` draws the DAG with every
edge's local derivative and derives ∂f/∂x by the chain rule.  The checks compare the value,
∇f and the formulas with SymPy built from the tree itself, in exact rationals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..i18n import _
from .checks import Check
from .document import DisplayMath, Figure, Heading, Paragraph, math
from .numbers import frac_tex, vector_tex

__all__ = ["Node", "VariantB", "SolutionB", "draw", "solve", "CHECKERS", "handout", "key",
           "to_text", "to_tex", "to_sympy", "count_ops"]

POINTS = 5
MIN_OPS, MAX_OPS = 6, 12
MAX_ABS = 1000  # |f| and |∂f/∂x_i| at the point stay below this
_POINT = (Fraction(-2), Fraction(-1), Fraction(-1, 2), Fraction(1, 2), Fraction(1),
          Fraction(3, 2), Fraction(2))
_PREC = {"add": 1, "sub": 1, "mul": 2, "pow": 3, "var": 4, "const": 4}

Node = tuple  # ("var", "x1") | ("const", 3) | (op, left, right) | ("pow", base, exponent)


def _gen(rng: np.random.Generator, k: int, names: tuple[str, ...]) -> Node:
    if k == 0:
        return ("var", names[int(rng.integers(len(names)))])
    if rng.random() < 0.25:
        return ("pow", _gen(rng, k - 1, names), 3 if rng.random() < 0.25 else 2)
    op = ("add", "sub", "mul")[int(rng.integers(3))]
    if rng.random() < 0.3:
        const = ("const", int(rng.choice([2, 3, 4, 5, 10] if op == "mul" else [1, 2, 3, 4, 5])))
        inner = _gen(rng, k - 1, names)
        return (op, const, inner) if op == "sub" or rng.random() < 0.7 else (op, inner, const)
    left = int(rng.integers(0, k))
    return (op, _gen(rng, left, names), _gen(rng, k - 1 - left, names))


def _tidy(node: Node) -> bool:
    """No x·x (a power instead), no a − a or a + a, no power of a power, no constant subtree."""
    import sympy

    kind = node[0]
    if kind in ("var", "const"):
        return True
    if kind == "pow":
        return node[1][0] != "pow" and _tidy(node[1])
    if node[1] == node[2] or not (_tidy(node[1]) and _tidy(node[2])):
        return False
    sym = {n: sympy.Symbol(n, real=True) for n in _variables(node)}
    return bool(sympy.expand(to_sympy(node, sym)).free_symbols)


def count_ops(node: Node) -> int:
    """The operations of the tree (constants and variables are none)."""
    if node[0] in ("var", "const"):
        return 0
    if node[0] == "pow":
        return 1 + count_ops(node[1])
    return 1 + count_ops(node[1]) + count_ops(node[2])


def _variables(node: Node) -> set[str]:
    if node[0] == "var":
        return {node[1]}
    if node[0] == "const":
        return set()
    if node[0] == "pow":
        return _variables(node[1])
    return _variables(node[1]) | _variables(node[2])


def _wrap(node: Node, text: str, need: bool, tex: bool) -> str:
    if not need:
        return text
    return rf"\left({text}\right)" if tex else f"({text})"


def _print(node: Node, tex: bool) -> str:
    kind = node[0]
    if kind == "var":
        return f"x_{{{node[1][1:]}}}" if tex else node[1]
    if kind == "const":
        return str(node[1])
    if kind == "pow":
        base = _wrap(node[1], _print(node[1], tex), _PREC[node[1][0]] <= 3, tex)
        return f"{base}^{{{node[2]}}}" if tex else f"{base}**{node[2]}"
    left, right = node[1], node[2]
    lt, rt = _print(left, tex), _print(right, tex)
    if kind in ("add", "sub"):
        return f"{lt} {'+' if kind == 'add' else '-'} {_wrap(right, rt, _PREC[right[0]] <= 1, tex)}"
    lt = _wrap(left, lt, _PREC[left[0]] <= 1, tex)
    rt = _wrap(right, rt, _PREC[right[0]] <= 2, tex)
    if not tex:
        return f"{lt}*{rt}"
    joint = left[0] == "const" and right[0] != "const" and not rt[0].isdigit()
    sep = " " if joint else r" \cdot "
    return lt + sep + rt


def to_text(node: Node) -> str:
    """The tree in the safe parser's syntax (``3*(x1 - x2**2)**2 + x1*x3``)."""
    return _print(node, tex=False)


def to_tex(node: Node) -> str:
    """The tree in LaTeX, with the same parentheses (the same DAG)."""
    return _print(node, tex=True)


def to_sympy(node: Node, symbols: dict[str, Any]) -> Any:
    """The tree as an exact SymPy expression (the independent route)."""
    import sympy

    kind = node[0]
    if kind == "var":
        return symbols[node[1]]
    if kind == "const":
        return sympy.Integer(node[1])
    if kind == "pow":
        return to_sympy(node[1], symbols) ** sympy.Integer(node[2])
    a, b = to_sympy(node[1], symbols), to_sympy(node[2], symbols)
    return a + b if kind == "add" else a - b if kind == "sub" else a * b


@dataclass(frozen=True)
class VariantB:
    tree: Node
    names: tuple[str, ...]
    point: tuple[Fraction, ...]

    @property
    def text(self) -> str:
        return to_text(self.tree)


@dataclass
class SolutionB:
    report: Any             # dagrad.explain.DagGradientReport
    value: float
    gradient: dict[str, float]
    exact_value: Fraction   # SymPy's, exactly
    exact_gradient: dict[str, Fraction]


def _exact(v: VariantB) -> tuple[Fraction, dict[str, Fraction], dict[str, Any]]:
    """f, ∇f at the point and the formulas ∂f/∂x, by SymPy from the tree, exactly."""
    import sympy

    sym = {n: sympy.Symbol(n, real=True) for n in v.names}
    f = to_sympy(v.tree, sym)
    at = {sym[n]: sympy.Rational(p.numerator, p.denominator)
          for n, p in zip(v.names, v.point, strict=True)}
    grads = {n: sympy.diff(f, sym[n]) for n in v.names}

    def frac(e: Any) -> Fraction:
        r = sympy.Rational(e.subs(at))
        return Fraction(int(r.p), int(r.q))

    return frac(f), {n: frac(g) for n, g in grads.items()}, grads


def draw(rng: np.random.Generator) -> VariantB:
    """A variant of part (b) from ``rng``: the function and the point."""
    names = ("x1", "x2", "x3")[: int(rng.integers(2, 4))]
    for _attempt in range(500):
        k = int(rng.integers(MIN_OPS, MAX_OPS + 1))
        tree = _gen(rng, k, names)
        point = tuple(_POINT[int(i)] for i in rng.integers(len(_POINT), size=len(names)))
        if _variables(tree) != set(names) or count_ops(tree) != k or not _tidy(tree):
            continue
        v = VariantB(tree, names, point)
        value, grad, formulas = _exact(v)
        if abs(value) > MAX_ABS or any(abs(g) > MAX_ABS for g in grad.values()):
            continue
        if any(f == 0 for f in formulas.values()) or all(g == 0 for g in grad.values()):
            continue
        return v
    raise RuntimeError("part (b): no function within the limits after 500 draws")


def solve(v: VariantB) -> SolutionB:
    """Parse, evaluate on float64 leaves, backprop; the DAG report with the chain rule."""
    import dagrad as dg
    from dagrad.explain import dag_gradient
    from dagrad.expression import parse

    expr = parse(v.text)
    leaves = {n: dg.tensor(float(p), dtype="float64", requires_grad=True, name=n)
              for n, p in zip(v.names, v.point, strict=True)}
    out = expr.evaluate(leaves)
    out.backward()
    g = dg.graph(out)
    value, grad, formulas = _exact(v)
    report = dag_gradient(g, title="f = " + v.text,
                          expected={n: float(q) for n, q in grad.items()},
                          expected_formulas={n: str(f) for n, f in formulas.items()})
    return SolutionB(report, report.value, dict(report.gradient), value, grad)


# ----------------------------------------------------------------------------- checks
def check_ops(v: VariantB, s: SolutionB) -> Check:
    ops = sum(1 for node in s.report.graph.nodes if node.op is not None)
    want = count_ops(v.tree)
    return Check("b", "number of operations in the DAG", "the tree the sheet prints",
                 ops == want and MIN_OPS <= ops <= MAX_OPS, f"DAG {ops}, tree {want}")


def check_exact(v: VariantB, s: SolutionB) -> Check:
    """f and ∇f by the engine equal SymPy's exact rationals (to 1e-12)."""
    pairs = [("f", s.value, s.exact_value)] + [(f"∂f/∂{n}", s.gradient[n], s.exact_gradient[n])
                                              for n in v.names]
    bad = [f"{k}: {a!r} vs {b}" for k, a, b in pairs
           if abs(a - float(b)) > 1e-12 * max(1.0, abs(float(b)))]
    return Check("b", "f and ∇f at the point", "SymPy, exact rationals", not bad,
                 "; ".join(bad) or "equal")


def check_report(v: VariantB, s: SolutionB) -> Check:
    """dag_gradient's checks: the chain-rule formulas vs SymPy's ∂f/∂x, and at the point."""
    r = s.report
    ok = r.ok and len(r.checks) >= 3 and not r.refused
    detail = "; ".join(f"{c.name}: {'ok' if c.ok else 'FAIL'}" for c in r.checks)
    return Check("b", "∂f/∂x by the chain rule over the DAG", "SymPy's derivative of the tree "
                 "(difference simplified to 0)", ok, detail or "no checks ran")


CHECKERS = [check_ops, check_exact, check_report]


# ----------------------------------------------------------------------------- the text
def _names_tex(v: VariantB) -> str:
    return ", ".join(f"x_{{{n[1:]}}}" for n in v.names)


def handout(v: VariantB) -> list[Any]:
    """Part (b) of the handout."""
    return [
        Heading(2, _("b) Graphs and the chain rule for backpropagation ({p} points)")
                .format(p=POINTS)),
        Paragraph(_("When we run a function, an autodiff library such as PyTorch builds a "
                    "directed acyclic graph (DAG) that describes it; calling {backward} "
                    "evaluates the gradient of the function with this graph and the chain rule. "
                    "This exercise shows how automatic differentiation works in a small "
                    "example.").format(backward="backward")),
        Paragraph(_("Consider the function")),
        DisplayMath(rf"f({_names_tex(v)}) = {to_tex(v.tree)}. \qquad (1)"),
        Paragraph(_("**Task:** Draw a directed acyclic graph that represents the function in "
                    "equation (1) as a sequence of the operations {ops} and the power {pow} "
                    "with a natural exponent {e}. Assume {real} and use the chain rule and your "
                    "DAG to compute the gradient {grad} at the point {point}. Give every "
                    "derivative on the edges of the DAG explicitly.").format(
            ops=math("+,\\ -,\\ *"), pow=math("x^e"), e=math("e"),
            real=math(_names_tex(v) + r" \in \mathbb{R}"), grad=math(r"\nabla f"),
            point=math(rf"({_names_tex(v)}) = {vector_tex(v.point)}"))),
        Paragraph(_("**Hint:** Drawing graphs in LaTeX is tedious; you may use any drawing "
                    "tool and include the result in your PDF.")),
    ]


_ALIGN = re.compile(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", re.S)


def _one_step_per_line(block: str) -> str:
    """``a &= b = c = d`` → ``a &= b \\ &= c \\ &= d`` (each step of a long line on its own)."""
    out = []
    for line in block.split("\\\\\n"):
        pieces, depth, start = [], 0, 0
        for i, ch in enumerate(line):
            if ch in "{(":
                depth += 1
            elif ch in "})":
                depth -= 1
            if depth == 0 and line.startswith(" = ", i):
                pieces.append(line[start:i])
                start = i + 3
        pieces.append(line[start:])
        out.append(" \\\\ &= ".join(pieces))
    return "\\\\\n".join(out)


def key(v: VariantB, s: SolutionB, figure: Figure | None) -> list[Any]:
    """Part (b) of the key (``figure``: the DAG drawn by Graphviz, when drawn)."""
    import sympy

    r = s.report
    forward, local, reverse = _ALIGN.findall(r.graph.to_latex())
    out: list[Any] = [
        Heading(2, _("b) Graphs and the chain rule for backpropagation ({p} points)")
                .format(p=POINTS)),
        Paragraph(_("The DAG of {f}: every node is one operation, every edge carries its local "
                    "derivative (formula and value at the point).").format(
            f=math(rf"f = {to_tex(v.tree)}"))),
    ]
    if figure is not None:
        out.append(figure)
    out += [
        Heading(3, _("Forward pass")), DisplayMath(rf"\begin{{aligned}}{forward}\end{{aligned}}"),
        Heading(3, _("Local derivatives on the edges")),
        DisplayMath(rf"\begin{{aligned}}{local}\end{{aligned}}"),
        Heading(3, _("Backward pass (adjoints, from the output back to the inputs)")),
        DisplayMath(rf"\begin{{aligned}}{_one_step_per_line(reverse)}\end{{aligned}}"),
        Heading(3, _("Gradient")),
        Paragraph(_("Summing over the paths from each input to {f} the products of the edge "
                    "derivatives (the chain rule) gives:").format(f=math("f"))),
        DisplayMath(r"\begin{aligned}" + r"\\".join(
            rf"\frac{{\partial f}}{{\partial x_{{{n[1:]}}}}} &= {sympy.latex(r.formulas[n])}"
            for n in v.names) + r"\end{aligned}"),
        DisplayMath(rf"\nabla f\,{vector_tex(v.point)} = "
                    + vector_tex(s.exact_gradient[n] for n in v.names)
                    + rf",\qquad f = {frac_tex(s.exact_value)}"),
    ]
    return out
