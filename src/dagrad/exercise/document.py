"""A sheet as a list of blocks, written once and rendered as Markdown, HTML and LaTeX.

Text in a block is prose with inline mathematics between dollar signs (``"for $i \\le n$"``):
the prose has been through ``_()`` already, the mathematics is LaTeX shared by every language.
Markdown keeps ``$…$`` (as GitHub and Jupyter typeset it); HTML escapes the prose and marks the
mathematics for KaTeX with :mod:`dagrad.web.texmath`; LaTeX escapes the prose for pdflatex (German
letters pass through; an unknown character is an error, never a silent ``?``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..explain.report import UNICODE_SPELLINGS, latex_escape

__all__ = ["Heading", "Paragraph", "Items", "DisplayMath", "Table", "Figure", "Document",
           "math", "split_math", "latex_prose"]


def math(tex: str) -> str:
    """Inline mathematics inside prose: ``$tex$``."""
    if "$" in tex:
        raise ValueError(f"inline mathematics may not contain '$': {tex!r}")
    return f"${tex}$"


def split_math(text: str) -> list[tuple[bool, str]]:
    """[(is_math, piece), …] of a prose string with ``$…$`` mathematics."""
    parts = text.split("$")
    if len(parts) % 2 == 0:
        raise ValueError(f"unbalanced '$' in {text!r}")
    return [(i % 2 == 1, p) for i, p in enumerate(parts) if p]


# characters of German and English prose that pdflatex with T1/utf8 takes as they are
_PASS = set("äöüÄÖÜßéèàÉ„“”‚‘«»")
_EXTRA = {"³": r"$^3$", "¹": r"$^1$", "⁰": r"$^0$", "⁴": r"$^4$", "₀": r"$_0$", "₁": r"$_1$",
          "₂": r"$_2$", "₃": r"$_3$", "ᵢ": r"$_i$", "≥": r"$\ge$", "⁻": r"$^-$", "·": r"$\cdot$",
          "\u0304": ""}


def latex_prose(text: str) -> str:
    """Prose for pdflatex: LaTeX's specials escaped, the reports' symbols spelled as LaTeX,
    German letters as they are; any other character raises ValueError naming it."""
    out: list[str] = []
    for ch in text:
        if ord(ch) < 128:
            out.append(latex_escape(ch))
        elif ch in _PASS:
            out.append(ch)
        elif ch in _EXTRA:
            out.append(_EXTRA[ch])
        elif ch in UNICODE_SPELLINGS:
            out.append(UNICODE_SPELLINGS[ch][1])
        else:
            raise ValueError(f"no LaTeX spelling for the character {ch!r} (U+{ord(ch):04X}) in "
                             f"{text!r}")
    return "".join(out)


def _bold(text: str, escape: Any, start: str, end: str) -> str:
    """Prose with **bold** spans: escaped pieces, the spans between ``start`` and ``end``."""
    pieces = text.split("**")
    if len(pieces) % 2 == 0:
        raise ValueError(f"unbalanced '**' in {text!r}")
    return "".join(start + escape(p) + end if i % 2 else escape(p) for i, p in enumerate(pieces))


def _latex_inline(text: str) -> str:
    return "".join(f"${p}$" if m else _bold(p, latex_prose, r"\textbf{", "}")
                   for m, p in split_math(text))


def _html_inline(text: str) -> str:
    from ..web.texmath import tex

    return "".join(tex(p) if m else _bold(p, html.escape, "<strong>", "</strong>")
                   for m, p in split_math(text))


@dataclass(frozen=True)
class Heading:
    level: int  # 2: a part (a new page in print), 3: a section of a part
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Items:
    items: tuple[str, ...]
    numbered: bool = True


@dataclass(frozen=True)
class DisplayMath:
    tex: str  # one display; several lines as \begin{aligned} … \end{aligned}


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    wrap: tuple[bool, ...] = ()  # LaTeX: columns whose text wraps to fit the page


@dataclass(frozen=True)
class Figure:
    svg_file: str      # the file written beside the sheet
    svg: str           # its text, inlined into the HTML page
    png_file: str      # the same picture for pdflatex (\includegraphics)
    caption: str


Block = Heading | Paragraph | Items | DisplayMath | Table | Figure


@dataclass
class Document:
    """A sheet or a key: a title, blocks, and the language it is written in."""

    title: str
    language: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self

    # ----- Markdown --------------------------------------------------------------
    def to_markdown(self) -> str:
        """The document as Markdown with ``$…$`` mathematics."""
        out = [f"# {self.title}", ""]
        for b in self.blocks:
            if isinstance(b, Heading):
                out += ["#" * b.level + " " + b.text, ""]
            elif isinstance(b, Paragraph):
                out += [b.text, ""]
            elif isinstance(b, Items):
                out += [(f"{i}. " if b.numbered else "- ") + t
                        for i, t in enumerate(b.items, 1)] + [""]
            elif isinstance(b, DisplayMath):
                out += ["$$", b.tex, "$$", ""]
            elif isinstance(b, Table):
                out += ["| " + " | ".join(b.headers) + " |",
                        "|" + "|".join("---" for _ in b.headers) + "|"]
                out += ["| " + " | ".join(c.replace("|", r"\|") for c in r) + " |"
                        for r in b.rows] + [""]
            elif isinstance(b, Figure):
                out += [f"![{b.caption}]({b.svg_file})", "", f"*{b.caption}*", ""]
        return "\n".join(out).rstrip() + "\n"

    # ----- HTML ------------------------------------------------------------------
    def body_html(self) -> str:
        """The blocks as an HTML fragment: prose escaped, mathematics marked for KaTeX
        (:mod:`dagrad.web.texmath`), each part a ``dg-part`` section (a new page in print)."""
        from ..web.page import responsive_svg
        from ..web.texmath import tex_display

        out = [f"<h1>{_html_inline(self.title)}</h1>"]
        open_part = False
        for b in self.blocks:
            if isinstance(b, Heading):
                if b.level == 2:
                    out.append(("</section>" if open_part else "") + '<section class="dg-part">')
                    open_part = True
                out.append(f"<h{b.level}>{_html_inline(b.text)}</h{b.level}>")
            elif isinstance(b, Paragraph):
                out.append(f"<p>{_html_inline(b.text)}</p>")
            elif isinstance(b, Items):
                tag = "ol" if b.numbered else "ul"
                out.append(f"<{tag}>" + "".join(f"<li>{_html_inline(t)}</li>" for t in b.items)
                           + f"</{tag}>")
            elif isinstance(b, DisplayMath):
                out.append(tex_display(b.tex))
            elif isinstance(b, Table):
                head = "".join(f"<th>{_html_inline(h)}</th>" for h in b.headers)
                rows = "".join("<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in r)
                               + "</tr>" for r in b.rows)
                out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            elif isinstance(b, Figure):
                out.append(f'<figure class="dg-figure">{responsive_svg(b.svg)}<figcaption>'
                           f"{_html_inline(b.caption)}</figcaption></figure>")
        if open_part:
            out.append("</section>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        """Jupyter shows the document (its MathJax reads the same delimiters as KaTeX)."""
        return self.body_html()

    def to_html(self) -> str:
        """A complete, self-contained page (KaTeX and the print stylesheet inlined)."""
        from ..web.page import html_page

        return html_page(self.title.replace("$", ""), self.body_html(), lang=self.language)

    # ----- LaTeX -----------------------------------------------------------------
    def to_latex(self) -> str:
        """A complete document for pdflatex (babel in the sheet's language)."""
        babel = "ngerman" if self.language == "de" else "english"
        out = [r"\documentclass[11pt,a4paper]{article}", r"\usepackage[utf8]{inputenc}",
               r"\usepackage[T1]{fontenc}", rf"\usepackage[{babel}]{{babel}}",
               r"\usepackage{amsmath,amssymb}", r"\usepackage{booktabs}",
               r"\usepackage{graphicx}", r"\usepackage{tabularx}",
               r"\usepackage[margin=2cm]{geometry}", r"\allowdisplaybreaks",
               r"\setlength{\parindent}{0pt}", r"\setlength{\parskip}{0.6em}",
               r"\setlength{\emergencystretch}{2em}",
               # a display wider than the text is scaled down to fit, never cut off
               r"\newsavebox{\dgbox}",
               r"\newcommand{\dgfit}[1]{\sbox{\dgbox}{$\displaystyle #1$}\ifdim\wd\dgbox>"
               r"\linewidth\resizebox{\linewidth}{!}{\usebox{\dgbox}}\else\usebox{\dgbox}\fi}",
               r"\begin{document}", r"\section*{" + _latex_inline(self.title) + "}"]
        commands = {2: "subsection*", 3: "subsubsection*"}
        for b in self.blocks:
            if isinstance(b, Heading):
                out.append(f"\\{commands.get(b.level, 'paragraph*')}{{{_latex_inline(b.text)}}}")
            elif isinstance(b, Paragraph):
                out += [_latex_inline(b.text), ""]
            elif isinstance(b, Items):
                env = "enumerate" if b.numbered else "itemize"
                out += [rf"\begin{{{env}}}", *(r"\item " + _latex_inline(t) for t in b.items),
                        rf"\end{{{env}}}"]
            elif isinstance(b, DisplayMath) and b.tex.startswith(r"\begin{aligned}"):
                # many lines: align* may break across pages (a box could not)
                body = b.tex[len(r"\begin{aligned}"):-len(r"\end{aligned}")]
                out += [r"{\small", r"\begin{align*}", body, r"\end{align*}}"]
            elif isinstance(b, DisplayMath):
                out += [r"\begin{center}\dgfit{%", b.tex, r"}\end{center}"]
            elif isinstance(b, Table):
                env = "tabularx" if any(b.wrap) else "tabular"
                cols = "".join("X" if w else "l" for w in (b.wrap or (False,) * len(b.headers)))
                width = r"{\linewidth}" if any(b.wrap) else ""
                out += [r"\begin{center}\small", rf"\begin{{{env}}}{width}{{{cols}}}",
                        r"\toprule", " & ".join(_latex_inline(h) for h in b.headers) + r" \\",
                        r"\midrule"]
                out += [" & ".join(_latex_inline(c) for c in r) + r" \\" for r in b.rows]
                out += [r"\bottomrule", rf"\end{{{env}}}", r"\end{center}"]
            elif isinstance(b, Figure):
                out += [r"\begin{center}",
                        rf"\IfFileExists{{{b.png_file}}}{{\includegraphics[width=\linewidth,"
                        rf"height=0.45\textheight,keepaspectratio]{{{b.png_file}}}}}"
                        rf"{{\fbox{{{latex_prose(b.svg_file)}}}}}",
                        r"\\[0.3em]\small " + _latex_inline(b.caption), r"\end{center}"]
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"
