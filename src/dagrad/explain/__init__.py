"""Explainers: reports that compute, check and explain a gradient (the sheet's exercises).

``jacobian_chain(model, x, y)`` — exercise (c): an MLP's gradient as a product of explicit
Jacobians.  ``vanishing(n, activations, ...)`` — exercise (a): the deep scalar chain's
derivatives, closed forms and bounds.  Each returns a report object with the data plus
``to_markdown()``, ``to_latex()``, ``_repr_html_()`` and, where a picture fits, ``plot(path)``.
"""

from __future__ import annotations

import importlib

__all__ = ["jacobian_chain", "vanishing", "gradient_flow"]

_WHERE = {"jacobian_chain": ".jacobian_chain", "vanishing": ".vanishing",
          "gradient_flow": ".gradient_flow"}


def __getattr__(name: str):
    """Load each explainer on first use."""
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        # importing the submodule bound the *module* under this name; bind the function
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dagrad.explain' has no attribute {name!r}")
