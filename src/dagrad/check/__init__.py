"""Check a student's own answer to the sheet, and say where it goes wrong.

``gradient(expr, wrt, answer)`` — ∂f/∂x by hand, the mistake located on the DAG's paths;
``edges(expr, ["v2->v3=2*v2"])`` — local derivatives on named edges; ``adjoints(expr, ["v2=-50"],
at="x1=1.5,x2=2")`` — adjoint values, the first wrong one in backward order explained;
``sizes("grad_x", "1x10 · 10x256 · …")`` — the sizes of a Jacobian chain of the MLP;
``jacobian("softmax", "diag(s) - s @ sᵀ")`` — a Jacobian as a matrix expression;
``bound("sigmoid", "abs(h0) * (1/4)**(n-i+1)")`` — a bound on |∂h_n/∂w_i|, searched for a
counterexample.  Each returns a :class:`CheckReport` (``verdict``, ``ok``, ``diagnosis``,
``point``, ``to_markdown()``, ``_repr_html_()``); every verdict is computed by SymPy and the
engine, never looked up.  A report is written in the language active when the check runs
(``dagrad.i18n.use_language("de")``, ``--lang de``, ``DAGRAD_LANG``); only its prose changes.
"""

from __future__ import annotations

from .adjoints import adjoints
from .bound import bound
from .edges import edges
from .gradient import gradient
from .jacobian import jacobian
from .report import RIGHT, WRONG, CheckReport, Table
from .sizes import sizes

__all__ = ["gradient", "edges", "adjoints", "sizes", "jacobian", "bound", "CheckReport",
           "Table", "RIGHT", "WRONG"]
