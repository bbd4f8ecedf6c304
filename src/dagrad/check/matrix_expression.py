"""A safe reader of matrix answers such as ``diag(s) - s @ sᵀ`` or ``diag(1 - s**2)``.

Notation: ``@``, ``·`` or ``⋅`` for the matrix product (a number times a matrix is the plain
product), ``ᵀ``, ``^T`` or ``.T`` for the transpose (``^T`` is never a power), ``^`` or
``**`` with a constant exponent for an elementwise power, ``diag(v)`` (a vector to a diagonal
matrix; a matrix to its diagonal as a column), ``I`` (the identity), ``sum(v)``, and the op
table's elementwise functions (``exp``, ``tanh``, ``sigmoid``, …).  Vectors (``s``, ``z``) are
columns.  The text is rewritten to ASCII, parsed by ``ast.parse(mode="eval")`` and walked
against a whitelist — never ``eval``; NumPy evaluates the walk.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..expression import ExpressionError
from ..i18n import _

__all__ = ["MatrixShapeError", "MatrixExpression", "parse_matrix", "MAX_LENGTH", "MAX_NODES"]

MAX_LENGTH = 500
MAX_NODES = 200
MAX_EXPONENT = 64
_REWRITES = (("ᵀ", ".T"), ("⊤", ".T"), ("·", "@"), ("⋅", "@"), ("−", "-"), ("²", "**2"),
             ("³", "**3"), ("⊙", "*"), ("×", "*"))


class MatrixShapeError(ValueError):
    """The answer multiplies or adds matrices whose sizes do not fit (a wrong answer)."""


def _ascii(text: str) -> str:
    for a, b in _REWRITES:
        text = text.replace(a, b)
    text = re.sub(r"\^\s*\{?\s*T\s*\}?(?![A-Za-z0-9_])", ".T", text)
    text = text.replace("^", "**")
    for col, ch in enumerate(text, 1):
        if not (" " <= ch <= "~"):
            raise ExpressionError(_("character {ch!r} is not allowed in a matrix answer "
                                    "(column {col})").format(ch=ch, col=col))
        if ch in "\\#;[]{}'\"":
            raise ExpressionError(_("character {ch!r} is not allowed in a matrix answer "
                                    "(column {col})").format(ch=ch, col=col))
    return text


class MatrixExpression:
    """A parsed matrix answer: the source, its ASCII reading, the names it uses."""

    def __init__(self, source: str, ascii_text: str, tree: ast.expr, names: set[str]):
        self.source = source
        self.reading = ascii_text
        self.tree = tree
        self.names = names
        self.inner_products: list[str] = []  # the products that gave 1×1 (sᵀ @ s)

    def evaluate(self, env: Mapping[str, Any], functions: Mapping[str, Any], dim: int) -> Any:
        """The value with vectors from ``env`` (columns), ``I`` the dim×dim identity."""
        walk = _Walk(env, functions, dim)
        out = walk.value(self.tree)
        self.inner_products = walk.inner
        return out


def parse_matrix(text: str, variables: tuple[str, ...], functions: Mapping[str, Any]
                 ) -> MatrixExpression:
    """Parse a matrix answer in ``variables`` (e.g. ("s", "z")); refuse anything else."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(_("the matrix answer is empty"))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(_("the matrix answer is too long ({n} characters; limit "
                                "{limit})").format(n=len(text), limit=MAX_LENGTH))
    src = _ascii(text.strip())
    try:
        tree = ast.parse(src, mode="eval").body
    except SyntaxError as e:
        raise ExpressionError(_("the matrix answer {text!r} (read as {src!r}): invalid syntax: "
                                "{error}").format(text=text, src=src, error=e.msg)) from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(_("the matrix answer is too large ({n} nodes; limit {limit})")
                              .format(n=len(nodes), limit=MAX_NODES))
    names: set[str] = set()
    allowed = set(variables) | {"I", "e", "pi"}
    known = set(functions) | {"diag", "sum"}
    for node in nodes:
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in known:
                what = ast.unparse(node.func)
                raise ExpressionError(_("unknown function {what!r} in the matrix answer; known: "
                                        "{known}").format(what=what,
                                                          known=", ".join(sorted(known))))
            if node.keywords or len(node.args) != 1:
                raise ExpressionError(_("{name}() takes one argument in a matrix answer").format(
                    name=node.func.id))
        elif isinstance(node, ast.Name):
            if node.id in known:
                continue
            if node.id not in allowed:
                raise ExpressionError(_("unknown name {name!r} in the matrix answer; use "
                                        "{names}, I, and the known functions").format(
                                            name=node.id, names=", ".join(variables)))
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise ExpressionError(_("'.{attr}' is not allowed; only .T (transpose)")
                                      .format(attr=node.attr))
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult,
                                        ast.Pow)):
                raise ExpressionError(_("operator {op} is not allowed; allowed: + - * / @ ** "
                                        "and the transpose").format(op=type(node.op).__name__))
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ExpressionError(_("only unary - and + are allowed"))
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ExpressionError(_("constant {value!r} is not allowed").format(
                    value=node.value))
        elif not isinstance(node, (ast.Load, ast.operator, ast.unaryop)):
            raise ExpressionError(_("{what} is not allowed in a matrix answer").format(
                what=type(node).__name__))
    return MatrixExpression(text, src, tree, names)


def _shape(v: Any) -> str:
    a = np.asarray(v)
    return _("a number") if a.ndim == 0 else "×".join(str(d) for d in a.shape)


class _Walk:
    def __init__(self, env: Mapping[str, Any], functions: Mapping[str, Any], dim: int):
        self.env, self.functions, self.dim = env, functions, dim
        self.inner: list[str] = []

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id == "I":
                return np.eye(self.dim)
            if node.id in ("e", "pi"):
                return float(np.e if node.id == "e" else np.pi)
            return np.asarray(self.env[node.id], dtype=np.float64)
        if isinstance(node, ast.Attribute):
            v = np.asarray(self.value(node.value))
            return v.T if v.ndim == 2 else v
        if isinstance(node, ast.UnaryOp):
            v = self.value(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call):
            return self._call(node.func.id, self.value(node.args[0]), node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        raise ExpressionError(_("{what} is not allowed in a matrix answer").format(
            what=type(node).__name__))  # pragma: no cover

    def _call(self, name: str, v: Any, node: ast.Call) -> Any:
        a = np.asarray(v, dtype=np.float64)
        if name == "diag":
            if a.ndim == 2 and 1 in a.shape:
                return np.diag(a.reshape(-1))
            if a.ndim == 2:
                return np.diag(a).reshape(-1, 1)
            raise MatrixShapeError(_("{call} of {shape}: diag takes a vector").format(
                call=f"diag({ast.unparse(node.args[0])})", shape=_shape(a)))
        if name == "sum":
            return float(np.sum(a))
        with np.errstate(all="ignore"):
            return np.asarray(self.functions[name](a), dtype=np.float64)

    def _binop(self, node: ast.BinOp) -> Any:
        left, right = self.value(node.left), self.value(node.right)
        a, b = np.asarray(left), np.asarray(right)
        text = ast.unparse(node)
        if isinstance(node.op, ast.Pow):
            if b.ndim != 0 or not isinstance(node.right, (ast.Constant, ast.UnaryOp)):
                raise ExpressionError(_("{text}: the exponent must be a number").format(
                    text=text))
            if abs(float(b)) > MAX_EXPONENT:
                raise ExpressionError(_("{text}: exponent too large (limit {limit})").format(
                    text=text, limit=MAX_EXPONENT))
            with np.errstate(all="ignore"):
                return a ** float(b)
        if isinstance(node.op, ast.MatMult):
            if a.ndim == 0 or b.ndim == 0:
                return a * b
            if a.shape[-1] != b.shape[0]:
                raise MatrixShapeError(_("{product} is not defined: {cols} ≠ {rows}").format(
                    product=f"{ast.unparse(node.left)} ({_shape(a)}) @ "
                            f"{ast.unparse(node.right)} ({_shape(b)})",
                    cols=a.shape[-1], rows=b.shape[0]))
            out = a @ b
            if out.shape == (1, 1):
                self.inner.append(ast.unparse(node))
                return float(out[0, 0])
            return out
        if a.ndim and b.ndim and a.shape != b.shape:
            raise MatrixShapeError(_("{text}: {a} and {b} elementwise — the sizes differ")
                                   .format(text=text, a=_shape(a), b=_shape(b)))
        with np.errstate(all="ignore"):
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b
