"""vjp rules that write into their cotangent: a unary elementwise rule ``ḡ ∘ E(a, out)`` into ḡ.

When backprop holds the only reference to a cotangent array (PyTorch's engine reuses a gradient
buffer on the same condition), a unary elementwise op's vjp may overwrite that array instead of
making a fresh one.  The rule is the op table's own, recorded once on :class:`.rulecode.Code`
values: it qualifies when its root is a ufunc with ḡ as a direct argument, or
``where(cond, ḡ, c)``, and ḡ appears nowhere else in the tree.  The calls below the root run
in the rule's order on its operands — the first into a fresh scratch array, the next ones into
that same array where they read it (``out=``) — and the root then writes into ḡ.  Same ufuncs,
same operands, same order: the same numbers as the rule's own fresh result, bit for bit
(tests/test_inplace_vjp.py).  tanh's ḡ·(1 − out·out) becomes t = out·out; t = 1 − t; ḡ ·= t:
one scratch array where the rule makes three.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .rulecode import BOOL_UFUNCS, Code, source

__all__ = ["inplace_vjp", "UNDERIVED"]

#: ``Op.inplace_vjp`` before :func:`inplace_vjp` has looked at the op's rule.
UNDERIVED: Any = object()

_Eval = Callable[[tuple], Any]  # an expression of the operands (ḡ, a, out)


class _NoRule(Exception):
    """The recorded tree has a call this module does not evaluate."""


def _leaf(x: Any, leaves: dict[str, int]) -> _Eval | None:
    """An operand or a number as an evaluator (None for a call)."""
    if not isinstance(x, Code):
        return lambda v, c=x: c
    if x.call is None:
        k = leaves[x.src]
        return lambda v, k=k: v[k]
    return None


def _build(x: Any, leaves: dict[str, int]) -> tuple[_Eval, bool]:
    """x as an evaluator, and whether its result is a fresh float array it made (reusable)."""
    leaf = _leaf(x, leaves)
    if leaf is not None:
        return leaf, False
    name, args = x.call
    if name not in BOOL_UFUNCS and (name in ("where", "as_float", "clip") or len(args) > 2):
        raise _NoRule(name)  # (no unary op's rule has these below its root)
    parts = [_build(a, leaves) for a in args]
    fns = [f for f, _ in parts]
    uf = getattr(np, name)
    if name in BOOL_UFUNCS:  # a mask: computed as it is
        return (lambda v: uf(*[f(v) for f in fns])), False
    reuse = next((i for i, (_, fresh) in enumerate(parts) if fresh), None)
    if reuse is None:
        return (lambda v: uf(*[f(v) for f in fns])), True

    def into_operand(v: tuple) -> Any:  # the rule's call, written into a scratch it reads
        vals = [f(v) for f in fns]
        return uf(*vals, out=vals[reuse])
    return into_operand, True


def _derive(op: Any) -> Callable | None:
    """The op's vjp as a rule writing into ḡ, or None where the rule does not qualify."""
    if not op.elementwise or op.variadic or len(op.args) != 1 or op.vjp[0] is None:
        return None
    g, a, out = Code("{g}"), Code("{0}"), Code("{out}")
    tree = source(op.vjp[0], [g, a, out])
    if tree is None or tree.call is None or tree.src.count("{g}") != 1:
        return None
    leaves = {"{g}": 0, "{0}": 1, "{out}": 2}
    try:
        return _root(tree, g, leaves)
    except _NoRule:
        return None


def _root(tree: Code, g: Code, leaves: dict[str, int]) -> Callable | None:
    """The rule whose root call writes into ḡ (see the module docstring)."""
    name, args = tree.call
    if name == "where":  # ḡ where cond holds, the constant c elsewhere: c written where it fails
        cond, x, other = args
        if x is not g or isinstance(other, Code) or not _is_mask(cond):
            return None
        mask, _ = _build(cond, leaves)

        def where_rule(gv: np.ndarray, av: np.ndarray, ov: np.ndarray) -> np.ndarray:
            np.copyto(gv, other, where=np.logical_not(mask((gv, av, ov))))
            return gv
        return where_rule
    if name in BOOL_UFUNCS or name in ("as_float", "clip") or not any(x is g for x in args):
        return None
    uf = getattr(np, name)
    fns = [None if x is g else _build(x, leaves)[0] for x in args]

    def rule(gv: np.ndarray, av: np.ndarray, ov: np.ndarray) -> np.ndarray:
        v = (gv, av, ov)
        return uf(*[gv if f is None else f(v) for f in fns], out=gv)
    return rule


def _is_mask(x: Any) -> bool:
    return isinstance(x, Code) and x.call is not None and x.call[0] in BOOL_UFUNCS


def inplace_vjp(op: Any) -> Callable | None:
    """rule(ḡ, a, out) → ḡ overwritten with the op's vjp (None: the op has none); cached on the op.

    The caller guarantees what makes it exact: ḡ is an array no one else holds, and ḡ, a and
    out share one shape and one floating dtype.
    """
    rule = op.inplace_vjp
    if rule is UNDERIVED:
        rule = op.inplace_vjp = _derive(op)
    return rule
