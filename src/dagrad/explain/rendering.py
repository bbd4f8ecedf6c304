"""The one way an explainer's report renders: text, Markdown, LaTeX, HTML and its drawn DAG.

A report class names the module that renders it (``_renderer``, a path under
``dagrad.explain`` such as ``"mlp_jacobians.report"``, defining ``markdown(report, dag_path)``,
``latex(report)``, ``html_report(report)`` and ``text_summary(report)``) and defines
``dag_dot``.  The renderer is imported on first use, so the explainers stay light to import.
"""

from __future__ import annotations

import importlib
from typing import Any


class Rendering:
    """``to_markdown``, ``to_latex``, ``_repr_html_``/``to_html``, ``render_dag`` and ``str``."""

    _renderer = ""  # e.g. "mlp_jacobians.report"

    def _render(self) -> Any:
        return importlib.import_module(f"{__package__}.{self._renderer}")

    def dag_dot(self, level: str = "layer") -> str:
        raise NotImplementedError

    def to_markdown(self, dag_path: str | None = None) -> str:
        """The report as Markdown (``dag_path``: an image of the DAG to link)."""
        return self._render().markdown(self, dag_path)

    def to_latex(self) -> str:
        """The report as a complete LaTeX document (pdflatex)."""
        return self._render().latex(self)

    def _repr_html_(self) -> str:
        return self._render().html_report(self)

    def to_html(self) -> str:
        """The report as an HTML fragment (everything escaped; the DAG inline when drawable)."""
        return self._repr_html_()

    def render_dag(self, path: str, level: str = "layer") -> str:
        """Draw the DAG to ``path`` (.svg, .png or .pdf by suffix); returns the path."""
        from .picture import render

        return render(self.dag_dot(level), path)

    def __str__(self) -> str:
        return self._render().text_summary(self)
