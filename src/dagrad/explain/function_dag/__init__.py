"""Exercise (b): the DAG of a function, its edges' local derivatives, ∇f by the chain rule."""

from __future__ import annotations

from .example import rosenbrock
from .explainer import DagCheck, DagGradientReport, dag_gradient

__all__ = ["dag_gradient", "rosenbrock", "DagGradientReport", "DagCheck"]
