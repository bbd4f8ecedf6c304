"""A value that records the arithmetic done to it as Python source: rules become code.

The op table's rules are written with plain operators, so calling one on :class:`Code` values
gives the expression it computes — ``g * (1 - out * out)`` for tanh's vjp — fully parenthesised,
so the generated code performs the same operations in the same order.  ``dg.compile`` builds its
0-d (NumPy scalar) kernels this way, and an Op's identity rules are found as those returning the
cotangent itself.  Anything beyond arithmetic (a NumPy function, a comparison, an attribute)
raises, and the rule then has no generated code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Code", "source"]


def _src(x: Any) -> str | None:
    if isinstance(x, Code):
        return x.src
    if type(x) is int or type(x) is float:
        return repr(x)
    return None


class Code:
    """An expression's source text; operators on it build larger expressions."""

    __slots__ = ("src",)
    __array_ufunc__ = None  # NumPy functions refuse it (the rule is not plain arithmetic)

    def __init__(self, src: str):
        self.src = src

    def _binary(self, other: Any, symbol: str, reflected: bool) -> Code:
        o = _src(other)
        if o is None:
            return NotImplemented
        return Code(f"({o} {symbol} {self.src})" if reflected else f"({self.src} {symbol} {o})")

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
        return Code(f"(-{self.src})")

    def __bool__(self) -> bool:
        raise TypeError("a recorded expression has no truth value")

    def __eq__(self, o: object) -> bool:
        raise TypeError("a recorded expression cannot be compared")

    __ne__ = __eq__
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Code({self.src!r})"


def source(fn: Callable, args: Sequence[Code], attrs: dict[str, Code] | None = None
           ) -> Code | None:
    """fn(*args, **attrs) on recording values: the resulting expression, or None when fn does
    anything but arithmetic on them."""
    try:
        out = fn(*args, **attrs) if attrs else fn(*args)
    except Exception:
        return None
    return out if isinstance(out, Code) else None
