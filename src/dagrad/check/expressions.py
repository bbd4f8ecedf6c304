"""Reading a student's expressions through :mod:`dagrad.expression` (the safe parser) only.

``read(text, what)`` parses with the parser's public :func:`~dagrad.expression.parse` and says
how the text was read when the parser offers a reading of student notation (``x^2`` read as
``x**2``); errors name what was being read.
"""

from __future__ import annotations

from typing import Any

from ..expression import Expression, ExpressionError, parse
from ..i18n import _

__all__ = ["read", "reading", "sympy_of"]


def read(text: str, what: str) -> Expression:
    """Parse ``text`` (the ``what``: "the expression", "the answer") or raise a clear error."""
    if not isinstance(text, str):
        raise TypeError(_("{what} must be a str, not {type}").format(
            what=what, type=type(text).__name__))
    try:
        return parse(text)
    except ExpressionError as e:
        raise ExpressionError(f"{what} {text!r}: {e}") from None


def reading(expr: Expression) -> str | None:
    """How the parser read ``expr`` (its canonical spelling and notes) when that differs from
    what was typed; None when it was read as typed or the parser offers no reading."""
    text = getattr(expr, "reading", None)
    if callable(text):
        text = text()
    if not isinstance(text, str) or not text.strip():
        return None
    notes = tuple(getattr(expr, "notes", ()) or ())
    rewritten = getattr(expr, "rewritten", None)
    if rewritten is None:
        rewritten = "".join(text.split()) != "".join(expr.source.split())
    if not rewritten and not notes:
        return None
    return "; ".join([text, *notes])


def sympy_of(expr: Expression) -> Any:
    """The SymPy expression of a parsed expression (real symbols named as its variables)."""
    from ..expression import to_sympy

    return to_sympy(expr)
