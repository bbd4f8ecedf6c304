"""A :class:`~dagrad.check.report.CheckReport` as terminal lines, text, Markdown, LaTeX and HTML."""

from __future__ import annotations

import html
import re
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
from ..i18n import N_, _, use_language

if TYPE_CHECKING:
    from .report import CheckReport

__all__ = ["report_lines", "text_summary", "markdown", "latex", "html_report"]


_UMLAUTS = {"ä": r"\"a", "ö": r"\"o", "ü": r"\"u", "Ä": r"\"A", "Ö": r"\"O", "Ü": r"\"U",
            "ß": r"\ss{}"}
_SPELLED = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
            "\u0304": "bar"}
_UMLAUT = re.compile("([" + "".join(_UMLAUTS) + "])")
#: the keys of ``CheckReport.values`` the checks use, as the reports write them
_VALUE_LABELS = {"yours": N_("yours"), "right": N_("right"),
                 "dagrad backprop": N_("dagrad backprop"), "your bound": N_("your bound")}
_VALUE_OF = re.compile(r"(yours|right) \((.+)\)")


def _tex(text: str) -> str:
    """:func:`latex_text` that keeps German letters (ä → \\"a, ß → \\ss{}) instead of '?'."""
    return "".join(_UMLAUTS[part] if part in _UMLAUTS else latex_text(part)
                   for part in _UMLAUT.split(text) if part)


def _ascii(text: str) -> str:
    """:func:`ascii_text`, German letters spelled out (ä → ae, ß → ss), anything else left
    over as '?': a terminal that cannot print ∂ gets plain ASCII."""
    text = ascii_text(text)
    for letter, spelled in _SPELLED.items():
        text = text.replace(letter, spelled)
    return text.encode("ascii", "replace").decode("ascii")


def _point(r: CheckReport) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in (r.point or {}).items())


def _value_label(key: str) -> str:
    """A key of ``r.values`` ("yours", "right", "yours (v1->v2)") in the current language."""
    if key in _VALUE_LABELS:
        return _(_VALUE_LABELS[key])
    m = _VALUE_OF.fullmatch(key)
    if m:
        which = _("yours ({what})") if m.group(1) == "yours" else _("right ({what})")
        return which.format(what=m.group(2))
    return key


def _values(r: CheckReport) -> str:
    return ", ".join(f"{_value_label(k)} {fmt(v)}" for k, v in r.values.items())


def _at(r: CheckReport) -> str:
    return _("at {point}: {values}").format(point=_point(r), values=_values(r))


def _head(r: CheckReport) -> list[str]:
    labels = [_("question:"), _("answer:"), _("read as:"), _("verdict:")]
    width = max(len(s) for s in labels) + 1
    q, a, read, v = (s.ljust(width) for s in labels)
    lines = [f"{q}{r.question}", f"{a}{r.answer}"]
    lines += [f"{read}{line}" for line in r.read_as]
    lines.append(f"{v}{r.verdict_word.upper()} — {r.how}")
    return lines


def report_lines(r: CheckReport, *, unicode: bool = True) -> list[str]:
    """Question, answer, verdict, diagnosis, the point and the tables, as lines."""
    with use_language(r.language):
        lines = _head(r)
        if r.diagnosis:
            lines += ["", _("diagnosis:")] + [f"  - {d}" for d in r.diagnosis]
        if r.point:
            lines += ["", _at(r)]
        for t in r.tables:
            lines += ["", f"{t.caption}:", *("  " + s for s in
                                             text_table(t.headers, t.rows).splitlines())]
        if r.notes:
            lines += [""] + [_("note: {note}").format(note=n) for n in r.notes]
    return lines if unicode else [_ascii(s) for s in lines]


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
    with use_language(r.language):
        md = [f"### {_md(r.title)}", "", f"- {_('question:')} {_md(r.question)}",
              f"- {_('answer:')} {_code(r.answer)}"]
        md += [f"- {_('read as:')} {_code(line)}" for line in r.read_as]
        md += [f"- {_('verdict:')} **{r.verdict_word}** — {_md(r.how)}", ""]
        if r.diagnosis:
            md += [_("Diagnosis:"), ""] + [f"- {_md(d)}" for d in r.diagnosis] + [""]
        if r.point:
            md += [_md(_at(r)[:1].upper() + _at(r)[1:]), ""]
        for t in r.tables:
            md += [f"{_md(t.caption)}:", "",
                   markdown_table([_md(h) for h in t.headers],
                                  [[_md(c) for c in row] for row in t.rows]), ""]
        md += [f"*{_('Note:')}* {_md(n)}" for n in r.notes]
    return "\n".join(md)


def latex(r: CheckReport) -> str:
    """The report as a complete LaTeX document (pdflatex)."""
    with use_language(r.language):
        body = [_tex(s) + r"\\" for s in _head(r)]
        if r.diagnosis:
            body += [r"\begin{itemize}"] + [r"\item " + _tex(d) for d in r.diagnosis]
            body.append(r"\end{itemize}")
        if r.point:
            body.append(_tex(_at(r)[:1].upper() + _at(r)[1:]) + r"\\")
        for t in r.tables:
            body += ["", _tex(t.caption) + ":", "",
                     latex_table([_tex(h) for h in t.headers],
                                 [[_tex(fmt(c)) for c in row] for row in t.rows],
                                 size="small")]
        body += [_tex(_("Note: {note}").format(note=n)) + r"\\" for n in r.notes]
        title = r.title
    return latex_document(title, "\n".join(body)).replace(
        r"\title{" + latex_text(title) + "}", r"\title{" + _tex(title) + "}", 1)


def html_report(r: CheckReport) -> str:
    """The report as an HTML fragment for Jupyter; every piece of text is escaped."""
    e = html.escape
    colour = "#1a7f37" if r.ok else "#cf222e"
    with use_language(r.language):
        h = [f"<div class='dagrad-check' lang='{e(r.language)}'><h3 style='color:{colour}'>"
             f"{e(r.title)}</h3><ul>", *(f"<li>{e(s)}</li>" for s in _head(r)), "</ul>"]
        if r.diagnosis:
            h += [f"<h4>{e(_('Diagnosis'))}</h4><ul>",
                  *(f"<li>{e(d)}</li>" for d in r.diagnosis), "</ul>"]
        if r.point:
            h.append(f"<p>{e(_at(r)[:1].upper() + _at(r)[1:])}</p>")
        for t in r.tables:
            h += [f"<h4>{e(t.caption)}</h4>", html_table(list(t.headers), t.rows)]
        h += [f"<p><em>{e(_('Note:'))}</em> {e(n)}</p>" for n in r.notes]
    return "".join(h) + "</div>"
