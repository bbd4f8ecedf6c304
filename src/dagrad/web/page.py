"""A self-contained, printable HTML page: a body, its title, the print stylesheet and KaTeX.

Everything the page needs is inlined (KaTeX's script, its CSS with the fonts as base64 woff2,
the print stylesheet), so it works offline and fetches nothing.  KaTeX is inlined only where
the body holds a formula marked by :func:`dagrad.web.texmath.tex`.
"""

from __future__ import annotations

import html
import os
import re

from .assets import asset
from .texmath import DELIMITERS, MARK

__all__ = ["html_page", "write_page", "responsive_svg", "has_math", "math_head", "math_tail"]

BASE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1d2330;line-height:1.45}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #d5dbe6;padding:.25em .55em}
th{background:#f1f4f9} pre{background:#f6f8fb;padding:.8em;overflow-x:auto;font-size:.85em}
"""

_DELIMS = ",".join(f'{{left:"{a.replace(chr(92), chr(92) * 2)}",right:"'
                   f'{b.replace(chr(92), chr(92) * 2)}",display:{str(d).lower()}}}'
                   for a, b, d in DELIMITERS)
RENDER_JS = ("(function(){renderMathInElement(document.body,{delimiters:[" + _DELIMS + "],"
             "throwOnError:false,ignoredClasses:['dg-nomath']});"
             "document.documentElement.setAttribute('data-math','typeset');})();")
_SVG_SIZE = re.compile(r'<svg\b([^>]*?)\swidth="([\d.]+)(pt|px)?"\s+height="([\d.]+)(pt|px)?"')


def has_math(body: str) -> bool:
    """True when the body holds a formula marked by :func:`~dagrad.web.texmath.tex`."""
    return MARK in body


def math_head() -> str:
    """KaTeX's stylesheet (fonts inlined) as a ``<style>`` element."""
    return f"<style>{asset('katex/katex.min.css')}</style>"


def math_tail() -> str:
    """KaTeX, its auto-render and the call that typesets the page, as ``<script>`` elements
    (put them at the end of the body: the formulas are typeset before the page's load event)."""
    return "".join(f"<script>{js}</script>" for js in
                   (asset("katex/katex.min.js"), asset("katex/auto-render.min.js"), RENDER_JS))


def responsive_svg(svg: str) -> str:
    """Graphviz's inline SVG that scales to its container: ``width:100%`` up to its own size,
    ``height:auto`` (the viewBox keeps the aspect ratio)."""
    def repl(m: re.Match) -> str:
        unit = m.group(3) or "px"
        return (f'<svg{m.group(1)} class="dg-figure" style="width:100%;max-width:'
                f'{m.group(2)}{unit};height:auto"')

    return _SVG_SIZE.sub(repl, svg, count=1)


def html_page(title: str, body: str, *, lang: str = "en", css: str = "",
              math: bool | None = None) -> str:
    """A complete HTML document: ``body`` (HTML) under ``title`` (text), with the base and
    print stylesheets, ``css`` after them, and KaTeX when ``math`` (default: the body has a
    formula)."""
    math = has_math(body) if math is None else math
    return ("<!doctype html>\n"
            f'<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            "<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>{html.escape(title)}</title>"
            f"<style>{BASE_CSS}</style><style>{css}</style>"
            f"<style>{asset('print.css')}</style>"
            + (math_head() if math else "") + "</head>\n<body>\n" + body + "\n"
            + (math_tail() if math else "") + "</body></html>\n")


def write_page(path: str | os.PathLike, title: str, body: str, **options) -> str:
    """Write :func:`html_page` to ``path`` atomically; returns the path."""
    from ..atomic import atomic_write

    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(html_page(title, body, **options))
    return os.fspath(path)
