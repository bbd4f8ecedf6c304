"""The rendering methods a chain report shares: Markdown, LaTeX, HTML, text and the drawn DAG.

A report class names the module that renders it (``_renderer``, under ``dagrad.explain``, with
``markdown``, ``latex``, ``html_report`` and ``text_summary``) and defines ``dag_dot``; the
renderer is imported on first use, so the explainers stay light to import.
"""

from __future__ import annotations

import importlib
from typing import Any


class ChainRendering:
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
        from .mlp_jacobians.dag import render

        return render(self.dag_dot(level), path)

    def __str__(self) -> str:
        return self._render().text_summary(self)
