"""Self-contained HTML pages that print: typeset mathematics (vendored KaTeX), a print
stylesheet (A4, figures within the page, a page per part) and scalable pictures.

``math.tex`` marks a LaTeX formula for typesetting, ``page.html_page`` wraps a body into a
page that inlines everything it needs (no request leaves it), and ``dagrad.pdf.write_pdf``
prints such a page.  Nothing here imports the rest of dagrad but ``dagrad.atomic``.
"""

from .page import html_page, responsive_svg, write_page
from .texmath import Html, tex, tex_display

__all__ = ["Html", "tex", "tex_display", "html_page", "responsive_svg", "write_page"]
