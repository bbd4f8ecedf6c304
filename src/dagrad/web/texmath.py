"""LaTeX in HTML, the one way: ``tex(r"e^{o_i}")`` marks a formula that KaTeX typesets.

A formula becomes ``<span class="dg-math">\\(…\\)</span>`` (``\\[…\\]`` for display), its TeX
HTML-escaped.  The pages of :mod:`dagrad.web.page` inline KaTeX and its auto-render, which
typeset exactly these delimiters when the page loads; Jupyter's MathJax reads the same
delimiters, so a report's ``_repr_html_`` shows typeset mathematics there too.
"""

from __future__ import annotations

import html

__all__ = ["Html", "tex", "tex_display", "escape", "DELIMITERS", "MARK"]

#: What KaTeX's auto-render looks for (no ``$``: a dollar in prose stays a dollar).
DELIMITERS = ((r"\[", r"\]", True), (r"\(", r"\)", False))
MARK = 'class="dg-math'  # what every formula's element starts with


class Html(str):
    """A string that is HTML already (a table cell holding it is not escaped again)."""

    __slots__ = ()


def escape(text: object) -> Html:
    """Text as HTML: ``Html`` passes through, anything else is escaped."""
    return text if isinstance(text, Html) else Html(html.escape(str(text)))


def _check(latex: str) -> str:
    if not isinstance(latex, str) or not latex.strip():
        raise ValueError(f"tex: expected a LaTeX formula, got {latex!r}")
    if r"\)" in latex or r"\]" in latex:
        raise ValueError(f"tex: a formula may not contain a closing delimiter: {latex!r}")
    return latex


def tex(latex: str) -> Html:
    """An inline formula, ``\\(latex\\)``, for KaTeX (or MathJax) to typeset."""
    return Html(f'<span class="dg-math">\\({html.escape(_check(latex), quote=False)}\\)</span>')


def tex_display(latex: str) -> Html:
    """A displayed formula, ``\\[latex\\]``, on its own line."""
    return Html(f'<div class="dg-math dg-display">\\[{html.escape(_check(latex), quote=False)}'
                "\\]</div>")
