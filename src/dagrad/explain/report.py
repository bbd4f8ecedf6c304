"""Shared formatting for explainer reports: numbers and tables as Markdown, HTML and LaTeX."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any


def fmt(x: Any, digits: int = 6) -> str:
    """A number in a short readable form (``underflow`` for an exact 0 from float64 underflow
    is the caller's business; NaN and inf are spelled out)."""
    if isinstance(x, str):
        return x
    if x is None:
        return "n/a"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    cells = [[fmt(c) for c in r] for r in rows]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(c.replace("|", r"\|") for c in r) + " |" for r in cells]
    return "\n".join(out)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; every cell is escaped, but a ``dagrad.web.Html`` cell (a formula from
    ``dagrad.web.tex``) is HTML already."""
    from ..web.texmath import Html

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if isinstance(c, Html) else html.escape(fmt(c))}"
                                    "</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\\": r"\textbackslash{}"}


def latex_escape(text: str) -> str:
    """Escape text for LaTeX (not for math mode)."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def latex_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None,
                size: str | None = None) -> str:
    """A booktabs LaTeX tabular; headers and cells are LaTeX already (escape them first).

    ``align``: the column spec (default one ``l`` per column); ``size``: a font-size command
    such as ``"small"``, which centres the table in that size.
    """
    lines = [r"\begin{tabular}{" + (align or "l" * len(headers)) + "}", r"\toprule",
             " & ".join(headers) + r" \\", r"\midrule"]
    lines += [" & ".join(row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if size:
        lines = [r"\begin{center}" + "\\" + size, *lines, r"\end{center}"]
    return "\n".join(lines)


def latex_cells(rows: Sequence[Sequence[Any]]) -> list[list[str]]:
    """Table cells (numbers or text) formatted with :func:`fmt` and escaped for LaTeX."""
    return [[latex_escape(fmt(c)) for c in row] for row in rows]


# The Unicode the reports print: (its ASCII spelling, its pdflatex-safe LaTeX spelling).
UNICODE_SPELLINGS = {
    "σ": ("sigma", r"$\sigma$"), "∂": ("d", r"$\partial$"), "·": ("*", r"$\cdot$"),
    "−": ("-", "-"), "≤": ("<=", r"$\le$"), "Π": ("prod", r"$\Pi$"), "∏": ("prod", r"$\prod$"),
    "—": ("--", "---"), "–": ("--", "--"), "∈": ("in", r"$\in$"), "²": ("^2", r"$^2$"),
    "′": ("'", "'"), "’": ("'", "'"), "→": ("->", r"$\to$"), "←": ("<-", r"$\leftarrow$"),
    "×": ("x", r"$\times$"), "‖": ("|", r"$\|$"), "∇": ("grad ", r"$\nabla$"),
    "±": ("+-", r"$\pm$"), "√": ("sqrt", r"$\surd$"), "≈": ("~", r"$\approx$"),
    "∞": ("inf", r"$\infty$"), "≠": ("!=", r"$\neq$"), "…": ("...", r"\dots{}"),
    "ᵀ": ("^T", r"$^\top$"), "δ": ("delta", r"$\delta$"), "φ": ("phi", r"$\varphi$"),
    "⊗": ("(x)", r"$\otimes$"), "Δ": ("Delta", r"$\Delta$"), "Σ": ("Sigma", r"$\Sigma$"),
    "ℝ": ("R", r"$\mathbb{R}$"), "✓": ("ok", "ok"), "✗": ("FAILED", "FAILED"), "|": ("|", r"$|$"),
    **{c: (f"^{d}", f"$^{d}$") for c, d in zip("⁰¹³⁴⁵⁶⁷⁸⁹⁻", "013456789-", strict=True)},
}


def ascii_text(text: str) -> str:
    """The Unicode symbols of :data:`UNICODE_SPELLINGS` spelled in ASCII (σ → sigma, − → -)."""
    return "".join(UNICODE_SPELLINGS[c][0] if c in UNICODE_SPELLINGS else c for c in text)


#: The letters and quotes of German prose that pdflatex sets as they are (inputenc utf8, T1).
GERMAN_LETTERS = frozenset("äöüÄÖÜßéè„“‚‘«»")


def latex_text(text: str) -> str:
    """Text for LaTeX outside math: escaped, the report's Unicode spelled as LaTeX (pdflatex-safe;
    a combining macron becomes ``\\bar``, German letters and quotes stay, any other non-ASCII
    character becomes ``?``)."""
    out: list[str] = []
    for ch in text:
        if ch == "\u0304" and out:          # a combining macron: L̄ → $\bar{L}$
            out[-1] = r"$\bar{" + out[-1] + "}$"
        elif ch in UNICODE_SPELLINGS:
            out.append(UNICODE_SPELLINGS[ch][1])
        elif ord(ch) < 128:
            out.append(latex_escape(ch))
        elif ch in GERMAN_LETTERS:
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


LATEX_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage[margin=2cm]{geometry}
"""


def latex_babel() -> str:
    """The babel line for the current language (ngerman for German: hyphenation, quotes)."""
    from ..i18n import get_language

    return "\\usepackage[ngerman]{babel}\n" if get_language() == "de" else ""


def latex_document(title: str, body: str) -> str:
    """A complete LaTeX document a student can compile with pdflatex (babel ngerman when the
    current language is German)."""
    return (LATEX_PREAMBLE + latex_babel() + r"\title{" + latex_text(title) + "}\n\\date{}\n"
            r"\begin{document}" + "\n\\maketitle\n" + body + "\n\\end{document}\n")


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table for the terminal: columns padded; a column of words is left-aligned,
    any other column right-aligned."""
    cells = [[fmt(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]
    words = [bool(rows) and all(isinstance(r[j], str) and not _numeric(r[j]) for r in rows)
             for j in range(len(headers))]

    def line(items: Sequence[str]) -> str:
        return "  ".join(s.ljust(w) if left else s.rjust(w)
                         for s, w, left in zip(items, widths, words, strict=True)).rstrip()

    out = [line(list(headers)), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def fmt_log10(sign: float, log10: float, digits: int = 6) -> str:
    """A number given as sign·10^log10 (beyond float64's range too): ``-3.2e-453``, ``0``."""
    if math.isnan(log10) or math.isnan(sign):
        return "nan"
    if sign == 0 or log10 == -math.inf:
        return "0"
    if log10 == math.inf:
        return "inf" if sign > 0 else "-inf"
    if -300 < log10 < 300:
        return fmt(math.copysign(10.0**log10, sign), digits)
    e = math.floor(log10)
    m = 10.0 ** (log10 - e)
    if round(m, digits - 1) >= 10:
        m, e = m / 10, e + 1
    return f"{'-' if sign < 0 else ''}{m:.{digits - 1}g}e{e:+d}"
