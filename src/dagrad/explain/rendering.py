"""The one way an explainer's report renders: text, Markdown, LaTeX, HTML (and its drawn DAG).

A report class names the module that renders it (``_renderer``, a path under
``dagrad.explain`` such as ``"mlp_jacobians.report"``), which defines
``markdown(report, **options)``, ``latex(report, **options)``, ``html_report(report)`` and
``text_summary(report)``; a report with a DAG (:class:`DagRendering`) also defines ``dag_dot``.
The renderer is imported by name on first use, so the explainers stay light to import; it may
import its report's module, never the other way round, so the two form no import circle.
"""

from __future__ import annotations

import importlib
from typing import Any


class Rendering:
    """``to_markdown``, ``to_latex``, ``_repr_html_``/``to_html`` and ``str``."""

    _renderer = ""  # e.g. "mlp_jacobians.report"

    def _render(self) -> Any:
        return importlib.import_module(f"{__package__}.{self._renderer}")

    def to_markdown(self, **options: Any) -> str:
        """The report as Markdown (options: the renderer's, e.g. ``dag_path`` or ``max_rows``)."""
        return self._render().markdown(self, **options)

    def to_latex(self, **options: Any) -> str:
        """The report as a complete LaTeX document (pdflatex; options: the renderer's)."""
        return self._render().latex(self, **options)

    def _repr_html_(self) -> str:
        return self._render().html_report(self)

    def to_html(self) -> str:
        """The report as an HTML fragment (everything escaped; the DAG inline when drawable)."""
        return self._repr_html_()

    def __str__(self) -> str:
        return self._render().text_summary(self)


class DagRendering(Rendering):
    """A :class:`Rendering` of a report with a DAG: ``dag_dot`` and ``render_dag`` too."""

    def dag_dot(self, level: str = "layer") -> str:
        raise NotImplementedError

    def render_dag(self, path: str, level: str = "layer") -> str:
        """Draw the DAG to ``path`` (.svg, .png or .pdf by suffix); returns the path."""
        from .picture import render

        return render(self.dag_dot(level), path)
