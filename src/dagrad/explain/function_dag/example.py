"""Exercise (b)'s function: f(x1, x2) = 100(x2 − x1²)² + (1 − x1)² and its gradient by hand."""

from __future__ import annotations

from typing import Any

from ...i18n import N_
from .explainer import DagGradientReport, dag_gradient

__all__ = ["TITLE", "FORMULA", "GRADIENT_FORMULAS", "closed_form", "rosenbrock",
           "rosenbrock_function"]

FORMULA = "100*(x2 - x1**2)**2 + (1 - x1)**2"
#: The report's title (a msgid: it renders in the language active then).
TITLE = N_("Rosenbrock: f = 100·(x2 − x1²)² + (1 − x1)²")
GRADIENT_FORMULAS = {"x1": "-400*x1*(x2 - x1**2) - 2*(1 - x1)", "x2": "200*(x2 - x1**2)"}


def rosenbrock_function(x1: Any, x2: Any) -> Any:
    """f(x1, x2) = 100(x2 − x1²)² + (1 − x1)² (for numbers and Tensors alike)."""
    return 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2


def closed_form(x1: float, x2: float) -> tuple[float, tuple[float, float]]:
    """f and ∇f = (−400·x1·(x2 − x1²) − 2(1 − x1), 200(x2 − x1²)) written out by hand."""
    f = 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2
    return f, (-400 * x1 * (x2 - x1**2) - 2 * (1 - x1), 200 * (x2 - x1**2))


def rosenbrock(x1: float = 1.5, x2: float = 2.0, *, symbolic: bool = True) -> DagGradientReport:
    """Exercise (b): ∇f of f = 100(x2 − x1²)² + (1 − x1)² from its DAG, checked by hand."""
    import dagrad as dg

    a = dg.tensor(x1, dtype="float64", requires_grad=True, name="x1")
    b = dg.tensor(x2, dtype="float64", requires_grad=True, name="x2")
    g = dg.trace(rosenbrock_function, a, b)
    _, (g1, g2) = closed_form(x1, x2)
    return dag_gradient(g, title=TITLE,
                        expected={"x1": g1, "x2": g2},
                        expected_formulas=GRADIENT_FORMULAS if symbolic else None,
                        symbolic=symbolic)
