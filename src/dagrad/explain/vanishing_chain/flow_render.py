"""Rendering of a :class:`GradientFlowReport`: terminal text, Markdown, LaTeX and HTML."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ...i18n import _
from .. import report as rp

if TYPE_CHECKING:
    from .flow import GradientFlowReport

__all__ = ["text_summary", "markdown", "latex", "html_report"]


def text_summary(r: GradientFlowReport) -> str:
    """Setup, the ratio table and the verdict for the terminal."""
    lines = [r._setup(), "", r.table()]
    v = r.verdict()
    if v:
        lines += [""] + v
    return "\n".join(lines)


def markdown(r: GradientFlowReport) -> str:
    """Setup, ratio table and verdict as Markdown."""
    out = ["# " + _("Gradient flow in a deep MLP (Glorot & Bengio 2010)"), "", r._setup(), "",
           rp.markdown_table(r.headers(), r.rows()), ""]
    out += [f"- {v}" for v in r.verdict()]
    return "\n".join(out).rstrip() + "\n"


def html_report(r: GradientFlowReport) -> str:
    """Setup, ratio table and verdict as an HTML fragment (text escaped)."""
    return (f"<h3>{html.escape(_('Gradient flow (Glorot & Bengio 2010)'))}</h3>"
            f"<p>{html.escape(r._setup())}"
            f"</p>{rp.html_table(r.headers(), r.rows())}<ul>"
            + "".join(f"<li>{html.escape(v)}</li>" for v in r.verdict()) + "</ul>")


def latex(r: GradientFlowReport) -> str:
    """A compilable LaTeX document with the ratio table."""
    hdr = [rp.latex_text(_("depth")), r"$\sigma$", rp.latex_text(_("init"))]
    for q in (r"$\|\partial L/\partial o_1\| / \|\partial L/\partial o_d\|$",
              r"$\|\nabla W_1\| / \|\nabla W_d\|$"):
        hdr += [f"{q} {rp.latex_text(r._short(w))}" for w in r.whens]
    hdr += [rp.latex_text(_("loss") + " " + r._short(w)) for w in r.whens]
    body = [rp.latex_escape(rp.ascii_text(r._setup())),
            "", r"{\footnotesize", rp.latex_table(hdr, rp.latex_cells(r.rows()),
                                                  "rll" + "r" * (len(hdr) - 3)), "}",
            "", r"\begin{itemize}"]
    body += [r"\item " + rp.latex_escape(rp.ascii_text(v)) for v in r.verdict()]
    body.append(r"\end{itemize}")
    return rp.latex_document(_("Gradient flow in a deep MLP"), "\n".join(body))
