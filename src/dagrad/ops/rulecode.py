"""A value that records what is done to it: rules become code.

The op table's rules and forwards are written with plain operators, NumPy ufuncs and the few
helpers of :mod:`.rulemath`, so calling one on :class:`Code` values gives the expression it
computes — ``g * (1 - out * out)`` for tanh's vjp, ``_np.maximum(a, 0)`` for relu — both as
Python source (fully parenthesised: the same operations in the same order) and as a tree of
NumPy calls (``Code.call``) that ``dg.compile`` lowers to ``out=`` calls into its buffers.
dg.compile builds its 0-d (NumPy scalar) templates and its elementwise array kernels this way,
and an Op's identity rules are found as those returning the cotangent itself.

Recording assumes what those kernels require: every operand shares one floating dtype
(:data:`FLOAT` stands for it, so ``a.dtype`` and ``astype(a.dtype)`` record as nothing).  Anything
else — a NumPy function that is not a ufunc, a Python branch on a recorded value, an attribute —
raises, and the rule then has no generated code (it runs as the table's own function).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["Code", "FLOAT", "source", "where", "as_float", "OPERATOR_UFUNCS", "BOOL_UFUNCS"]

#: Python operators as the NumPy ufuncs ndarrays map them to.
OPERATOR_UFUNCS = {"+": "add", "-": "subtract", "*": "multiply", "/": "true_divide",
                   "**": "power", ">": "greater", ">=": "greater_equal", "<": "less",
                   "<=": "less_equal", "==": "equal", "!=": "not_equal",
                   "&": "logical_and", "|": "logical_or"}
#: Calls whose result is a boolean mask (lowered inline, never into a float buffer).
BOOL_UFUNCS = frozenset({"greater", "greater_equal", "less", "less_equal", "equal",
                         "not_equal", "logical_and", "logical_or", "logical_not", "isnan",
                         "isfinite", "isinf", "signbit"})


class _FloatDType:
    """The one floating dtype all recorded operands share (``Code.dtype``)."""

    kind = "f"

    def __repr__(self) -> str:
        return "FLOAT"


FLOAT = _FloatDType()


def _src(x: Any) -> str | None:
    if isinstance(x, Code):
        return x.src
    if type(x) is int or type(x) is float:
        return repr(x)
    return None


class Code:
    """An expression's source text and its call tree; operators on it build larger ones.

    ``call`` is None for an operand, else ``(name, args)``: a NumPy ufunc name (operators are
    recorded as the ufuncs ndarrays use), ``"where"`` or ``"as_float"``, with Code or number args.
    """

    __slots__ = ("src", "call")

    def __init__(self, src: str, call: tuple[str, tuple[Any, ...]] | None = None):
        self.src = src
        self.call = call

    # ----- Python operators ------------------------------------------------------------------
    def _binary(self, other: Any, symbol: str, reflected: bool) -> Code:
        o = _src(other)
        if o is None:
            return NotImplemented
        args = (other, self) if reflected else (self, other)
        text = f"({o} {symbol} {self.src})" if reflected else f"({self.src} {symbol} {o})"
        return Code(text, (OPERATOR_UFUNCS[symbol], args))

    def __add__(self, o: Any) -> Code:
        return self._binary(o, "+", False)

    def __radd__(self, o: Any) -> Code:
        return self._binary(o, "+", True)

    def __sub__(self, o: Any) -> Code:
        return self._binary(o, "-", False)

    def __rsub__(self, o: Any) -> Code:
        return self._binary(o, "-", True)

    def __mul__(self, o: Any) -> Code:
        return self._binary(o, "*", False)

    def __rmul__(self, o: Any) -> Code:
        return self._binary(o, "*", True)

    def __truediv__(self, o: Any) -> Code:
        return self._binary(o, "/", False)

    def __rtruediv__(self, o: Any) -> Code:
        return self._binary(o, "/", True)

    def __pow__(self, o: Any) -> Code:
        return self._binary(o, "**", False)

    def __rpow__(self, o: Any) -> Code:
        return self._binary(o, "**", True)

    def __neg__(self) -> Code:
        return Code(f"(-{self.src})", ("negative", (self,)))

    def __gt__(self, o: Any) -> Code:
        return self._binary(o, ">", False)

    def __ge__(self, o: Any) -> Code:
        return self._binary(o, ">=", False)

    def __lt__(self, o: Any) -> Code:
        return self._binary(o, "<", False)

    def __le__(self, o: Any) -> Code:
        return self._binary(o, "<=", False)

    def __eq__(self, o: object) -> Code:  # type: ignore[override]
        return self._binary(o, "==", False)

    def __ne__(self, o: object) -> Code:  # type: ignore[override]
        return self._binary(o, "!=", False)

    def __and__(self, o: Any) -> Code:
        return self._binary(o, "&", False)

    def __or__(self, o: Any) -> Code:
        return self._binary(o, "|", False)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError("a recorded expression has no truth value (a branch on a value)")

    # ----- NumPy ---------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.<ufunc>(…)`` on recorded values: recorded (plain calls of one-output ufuncs)."""
        srcs = [_src(x) for x in inputs]
        if method != "__call__" or kwargs or ufunc.nout != 1 or None in srcs:
            return NotImplemented
        return Code(f"_np.{ufunc.__name__}({', '.join(srcs)})", (ufunc.__name__, inputs))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """``np.where(c, x, y)`` and ``np.clip(a, lo, hi)`` recorded; other functions refuse."""
        if kwargs:
            return NotImplemented
        if func is np.where and len(args) == 3:
            return where(*args)
        if func is np.clip and len(args) == 3:
            srcs = [repr(x) if x is None else _src(x) for x in args]
            if None in srcs:
                return NotImplemented
            return Code(f"_np.clip({', '.join(srcs)})", ("clip", tuple(args)))
        return NotImplemented

    @property
    def dtype(self) -> _FloatDType:
        return FLOAT

    def astype(self, dtype: Any, copy: bool = True) -> Code:
        """A cast to the shared dtype records nothing; any other cast is not recordable."""
        if dtype is FLOAT:
            return self
        raise TypeError("a recorded expression is cast only to its own dtype")

    def __repr__(self) -> str:
        return f"Code({self.src!r})"


def where(cond: Code, x: Any, y: Any) -> Code:
    """``np.where(cond, x, y)`` recorded (the 0-d form gives a NumPy scalar, as a rule's)."""
    c, a, b = _src(cond), _src(x), _src(y)
    if None in (c, a, b):
        raise TypeError("where: recorded operands only")
    return Code(f"_np.where({c}, {a}, {b})[()]", ("where", (cond, x, y)))


def as_float(cond: Code, like: Code) -> Code:
    """A boolean mask as 0/1 in the dtype of ``like`` (``rulemath.mask``), recorded."""
    if not isinstance(cond, Code) or not isinstance(like, Code):
        raise TypeError("as_float: recorded operands only")
    return Code(f"{like.src}.dtype.type({cond.src})", ("as_float", (cond, like)))


def source(fn: Callable, args: Sequence[Code], attrs: dict[str, Any] | None = None
           ) -> Code | None:
    """fn(*args, **attrs) on recording values: the resulting expression, or None when fn does
    anything that cannot be recorded."""
    try:
        out = fn(*args, **attrs) if attrs else fn(*args)
    except Exception:
        return None
    return out if isinstance(out, Code) else None
