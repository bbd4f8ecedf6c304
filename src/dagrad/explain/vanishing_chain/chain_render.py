"""Rendering of a :class:`VanishingReport`: terminal text, Markdown, LaTeX and HTML."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ...i18n import _
from .. import report as rp
from .scalar_chain import MAX_TABLE_ROWS

if TYPE_CHECKING:
    from .scalar_chain import VanishingReport

__all__ = ["text_summary", "markdown", "latex", "html_report"]


def text_summary(r: VanishingReport) -> str:
    """Setup, the per-layer tables and the answer to the sheet's question."""
    from .text import answer_text

    return "\n".join([r._setup(), "", r.table(), "", answer_text(r)])


def markdown(r: VanishingReport, max_rows: int | None = MAX_TABLE_ROWS) -> str:
    """The whole report as Markdown (math in $…$)."""
    shown = r.layers_shown(max_rows)
    out = ["# " + _("Vanishing gradients in the chain h_i = σ(w_i h_{i−1})"), "",
           r._setup() + ".", "", r.derivation("markdown"), "", "## " + _("Measured"), ""]
    for label, res in r.results.items():
        out += [f"### σ = `{label}` ({res.activation.formula})", "",
                rp.markdown_table(r.headers(), res.rows(shown)), ""]
        if r._note(shown):
            out += [r._note(shown), ""]
        out += [f"- {s}" for s in res.summary()] + [""]
    return "\n".join(out).rstrip() + "\n"


def html_report(r: VanishingReport) -> str:
    """The report as an HTML fragment for Jupyter; every piece of text is escaped."""
    shown = r.layers_shown()
    title = _("Vanishing gradients: h_i = σ(w_i h_(i−1)), n = {n}").format(n=r.n)
    out = [f"<h3>{html.escape(title)}</h3>", f"<p>{html.escape(r._setup())}</p>"]
    for label, res in r.results.items():
        out.append(f"<h4>σ = {html.escape(label)} ({html.escape(res.activation.formula)})</h4>")
        out.append(rp.html_table(r.headers(), res.rows(shown)))
        out.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in res.summary())
                   + "</ul>")
    out.append("<pre>" + html.escape(r.derivation("text")) + "</pre>")
    return "\n".join(out)


def latex(r: VanishingReport, max_rows: int | None = MAX_TABLE_ROWS) -> str:
    """A complete LaTeX document: derivation, tables, summaries."""
    shown = r.layers_shown(max_rows)
    body = [rp.latex_escape(rp.ascii_text(r._setup())) + ".", "", r.derivation("latex"),
            r"\section*{" + rp.latex_text(_("Measured")) + "}"]
    for label, res in r.results.items():
        body.append(r"\subsection*{$\sigma$ = \texttt{" + rp.latex_escape(label) + "}}")
        body += [r"{\footnotesize", rp.latex_table(r.headers(latex=True),
                                                   rp.latex_cells(res.rows(shown)),
                                                   "rrrrrrrrl"), "}", ""]
        if r._note(shown):
            body += [rp.latex_escape(r._note(shown)), ""]
        body.append(r"\begin{itemize}")
        body += [r"\item " + rp.latex_escape(rp.ascii_text(s)) for s in res.summary()]
        body.append(r"\end{itemize}")
    return rp.latex_document(_("Vanishing gradients, n = {n}").format(n=r.n), "\n".join(body))
