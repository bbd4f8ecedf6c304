"""Parsing the answers typed per edge or per node: ``v2->v3=2*v2`` and ``v2=-50``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..expression import Expression, ExpressionError
from ..i18n import _
from .expressions import read

__all__ = ["EdgeAnswer", "NodeAnswer", "parse_edge", "parse_node_value", "typed_digits"]

_ARROW = re.compile(r"\s*(?:->|→)\s*")


@dataclass(frozen=True)
class EdgeAnswer:
    """``source → target`` and the student's ∂target/∂source."""

    source: str
    target: str
    text: str
    expr: Expression


@dataclass(frozen=True)
class NodeAnswer:
    """A node's name and the student's number for it (as typed and as a float)."""

    name: str
    text: str
    value: float


def parse_edge(item: str) -> EdgeAnswer:
    """``"v2->v3=2*v2"`` (also ``→``, blanks allowed) -> EdgeAnswer; a clear error otherwise."""
    left, sep, right = item.partition("=")
    parts = _ARROW.split(left.strip()) if sep else []
    if not sep or len(parts) != 2 or not all(parts) or not right.strip():
        raise ExpressionError(_("--edge {item!r}: expected SOURCE->TARGET=DERIVATIVE, e.g. "
                                "v2->v3=2*v2").format(item=item))
    return EdgeAnswer(parts[0], parts[1], right.strip(),
                      read(right.strip(), _("the derivative of --edge {item!r}").format(
                          item=item)))


def parse_node_value(item: str, what: str = "--adjoint") -> NodeAnswer:
    """``"v2=-50"`` (a number or a variable-free expression such as 3/2) -> NodeAnswer."""
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep or not name or not value.strip():
        raise ExpressionError(_("{what} {item!r}: expected NODE=NUMBER, e.g. v2=-50").format(
            what=what, item=item))
    expr = read(value.strip(), _("the value of {what} {item!r}").format(what=what, item=item))
    if expr.variables:
        raise ExpressionError(_("{what} {item!r}: the value must be a number (it uses "
                                "{names})").format(what=what, item=item,
                                                   names=", ".join(expr.variables)))
    from ..expression import numpy_functions

    v = float(expr.evaluate({}, numpy_functions()))
    if not math.isfinite(v):
        raise ExpressionError(_("{what} {item!r}: the value is not finite").format(
            what=what, item=item))
    return NodeAnswer(name, value.strip(), v)


def typed_digits(text: str) -> int | None:
    """Significant digits of a plain decimal as typed ("0.333" -> 3); None for other forms."""
    m = re.fullmatch(r"\s*[+-]?(\d*)\.?(\d*)\s*", text)
    if not m or not (m.group(1) or m.group(2)):
        return None
    digits = (m.group(1) + m.group(2)).lstrip("0")
    return len(digits) or None
