"""Explainers: reports that compute, check and explain a gradient (the sheet's exercises).

``jacobian_chain(model, x, y)`` — exercise (c): an MLP's gradient as a product of explicit
Jacobians.  ``vanishing(n, activations, ...)`` — exercise (a): the deep scalar chain's
derivatives, closed forms and bounds.  ``gradient_flow(depth, ...)`` — the same question for
real deep MLPs (Glorot & Bengio, 2010).  ``dag_gradient(g)`` — exercise (b): a function's
DAG, every edge's local derivative and ∇f by the chain rule; ``rosenbrock(x1, x2)`` is the
sheet's f.  Each returns a report object with the data plus ``to_markdown()``, ``to_latex()``,
``_repr_html_()`` and, where a picture fits, ``plot(path)`` or ``render_dag(path)``.
SymPy, Graphviz and matplotlib are imported only inside the methods that need them.
"""

from __future__ import annotations

from .function_dag import DagGradientReport, dag_gradient, rosenbrock
from .mlp_jacobians import JacobianChainReport, jacobian_chain
from .vanishing_chain import GradientFlowReport, VanishingReport, gradient_flow, vanishing

__all__ = ["jacobian_chain", "vanishing", "gradient_flow", "dag_gradient", "rosenbrock",
           "JacobianChainReport", "VanishingReport", "GradientFlowReport", "DagGradientReport"]
