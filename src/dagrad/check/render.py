"""A :class:`~dagrad.check.report.CheckReport` as terminal lines, text, Markdown, LaTeX and HTML."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ..explain.report import (
    ascii_text,
    fmt,
    html_table,
    latex_document,
    latex_table,
    latex_text,
    markdown_table,
    text_table,
)

if TYPE_CHECKING:
    from .report import CheckReport

__all__ = ["report_lines", "text_summary", "markdown", "latex", "html_report"]


def _point(r: CheckReport) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in (r.point or {}).items())


def _values(r: CheckReport) -> str:
    return ", ".join(f"{k} {fmt(v)}" for k, v in r.values.items())


def _head(r: CheckReport) -> list[str]:
    lines = [f"question: {r.question}", f"answer:   {r.answer}"]
    lines += [f"read as:  {line}" for line in r.read_as]
    lines.append(f"verdict:  {r.verdict.upper()} — {r.how}")
    return lines


def report_lines(r: CheckReport, *, unicode: bool = True) -> list[str]:
    """Question, answer, verdict, diagnosis, the point and the tables, as lines."""
    lines = _head(r)
    if r.diagnosis:
        lines += ["", "diagnosis:"] + [f"  - {d}" for d in r.diagnosis]
    if r.point:
        lines += ["", f"at {_point(r)}: {_values(r)}"]
    for t in r.tables:
        lines += ["", f"{t.caption}:", *("  " + s for s in
                                         text_table(t.headers, t.rows).splitlines())]
    if r.notes:
        lines += [""] + [f"note: {n}" for n in r.notes]
    return lines if unicode else [ascii_text(s) for s in lines]


def text_summary(r: CheckReport) -> str:
    """The report as plain text."""
    return "\n".join([r.title, *report_lines(r)])


def _md(text: object) -> str:
    """Text with Markdown's emphasis and link characters escaped (``x1**2`` stays ``x1**2``)."""
    if not isinstance(text, str):
        return fmt(text)
    return "".join("\\" + c if c in "\\*_`[]<>" else c for c in text)


def _code(text: str) -> str:
    return f"``{text}``" if "`" not in text else _md(text)


def markdown(r: CheckReport) -> str:
    """The report as Markdown."""
    md = [f"### {_md(r.title)}", "", f"- question: {_md(r.question)}",
          f"- answer: {_code(r.answer)}"]
    md += [f"- read as: {_code(line)}" for line in r.read_as]
    md += [f"- verdict: **{r.verdict}** — {_md(r.how)}", ""]
    if r.diagnosis:
        md += ["Diagnosis:", ""] + [f"- {_md(d)}" for d in r.diagnosis] + [""]
    if r.point:
        md += [f"At {_md(_point(r))}: {_md(_values(r))}", ""]
    for t in r.tables:
        md += [f"{_md(t.caption)}:", "", markdown_table([_md(h) for h in t.headers],
                                                        [[_md(c) for c in row] for row in t.rows]),
               ""]
    md += [f"*Note:* {_md(n)}" for n in r.notes]
    return "\n".join(md)


def latex(r: CheckReport) -> str:
    """The report as a complete LaTeX document (pdflatex)."""
    body = [latex_text(s) + r"\\" for s in _head(r)]
    if r.diagnosis:
        body += [r"\begin{itemize}"] + [r"\item " + latex_text(d) for d in r.diagnosis]
        body.append(r"\end{itemize}")
    if r.point:
        body.append(latex_text(f"At {_point(r)}: {_values(r)}") + r"\\")
    for t in r.tables:
        body += ["", latex_text(t.caption) + ":", "",
                 latex_table([latex_text(h) for h in t.headers],
                             [[latex_text(fmt(c)) for c in row] for row in t.rows],
                             size="small")]
    body += [latex_text(f"Note: {n}") + r"\\" for n in r.notes]
    return latex_document(r.title, "\n".join(body))


def html_report(r: CheckReport) -> str:
    """The report as an HTML fragment for Jupyter; every piece of text is escaped."""
    e = html.escape
    colour = "#1a7f37" if r.ok else "#cf222e"
    h = [f"<div class='dagrad-check'><h3 style='color:{colour}'>{e(r.title)}</h3><ul>",
         *(f"<li>{e(s)}</li>" for s in _head(r)), "</ul>"]
    if r.diagnosis:
        h += ["<h4>Diagnosis</h4><ul>", *(f"<li>{e(d)}</li>" for d in r.diagnosis), "</ul>"]
    if r.point:
        h.append(f"<p>At {e(_point(r))}: {e(_values(r))}</p>")
    for t in r.tables:
        h += [f"<h4>{e(t.caption)}</h4>", html_table(list(t.headers), t.rows)]
    h += [f"<p><em>Note:</em> {e(n)}</p>" for n in r.notes]
    return "".join(h) + "</div>"
