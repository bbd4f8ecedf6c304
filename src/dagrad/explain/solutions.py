"""Solutions on demand: the same exercise as a worksheet (``off``), worked (``on``) or its key.

``--solutions off|on|only`` on ``dagrad tour``, ``rosenbrock``, ``mlp-jacobians`` and
``vanishing`` is this one option (:func:`add_option`, :class:`Solutions`).  ``on`` is what the
commands always wrote.  ``off`` writes a :class:`Worksheet`'s questions: what is given (the DAG,
the definitions, the point, the sizes of the network) and numbered blanks, with no value,
adjoint, formula or product (pictures are drawn without values and without edge formulas).
``only`` writes the key: the numbered answers, without the questions again.  The numbers of the
key are computed by the explainers, never typed in.
"""

from __future__ import annotations

import argparse
import enum
import html
from dataclasses import dataclass, field

from ..i18n import _

__all__ = ["Solutions", "Question", "Worksheet", "add_option", "BLANK"]

BLANK = "________"


class Solutions(str, enum.Enum):
    """What a command writes: the worksheet (OFF), the worked solution (ON) or the key (ONLY)."""

    OFF = "off"
    ON = "on"
    ONLY = "only"

    @classmethod
    def of(cls, value: str | Solutions | None) -> Solutions:
        """``"off"`` -> Solutions.OFF (None -> ON); a clear error names the choices."""
        if value is None:
            return cls.ON
        try:
            return cls(value)
        except ValueError:
            raise ValueError(_("--solutions must be one of off, on, only; got {value!r}").format(
                value=value)) from None


def add_option(p: argparse.ArgumentParser) -> None:
    """Add ``--solutions off|on|only`` (default on) to a command's parser."""
    p.add_argument("--solutions", choices=[s.value for s in Solutions], default="on",
                   help=_("on (default): the worked solution; off: a worksheet to hand out — "
                          "the DAG, the questions and the sizes to fill in, without values, "
                          "adjoints, formulas or products (pictures without values and edge "
                          "formulas); only: the key, without the questions"))


@dataclass(frozen=True)
class Question:
    """One numbered blank: ``prompt`` asks, ``answer`` is the key's line (``x̄1 = 151``)."""

    label: str
    prompt: str
    answer: str


@dataclass
class Worksheet:
    """An exercise as a title, what is given, and numbered questions with their answers."""

    title: str
    given: list[str]
    questions: list[Question]
    sections: dict[str, str] = field(default_factory=dict)  # question label -> section heading

    def lines(self, mode: Solutions | str) -> list[str]:
        """The worksheet (OFF: given + blanks) or the key (ONLY: numbered answers)."""
        mode = Solutions.of(mode)
        if mode is Solutions.ON:
            raise ValueError(_("a worksheet is written with solutions off or only"))
        out = [(_("{title} — worksheet") if mode is Solutions.OFF else _("{title} — key"))
               .format(title=self.title), ""]
        if mode is Solutions.OFF:
            out += [_("Given:"), *(f"  {g}" for g in self.given), "", _("Fill in:")]
        for q in self.questions:
            if q.label in self.sections:
                out.append(f"  {self.sections[q.label]}")
            text = f"{q.prompt} = {BLANK}" if mode is Solutions.OFF else q.answer
            out.append(f"  ({q.label}) {text}")
        return out

    def text(self, mode: Solutions | str) -> str:
        """The lines joined, ending in a newline."""
        return "\n".join(self.lines(mode)) + "\n"

    def to_markdown(self, mode: Solutions | str, picture: str | None = None) -> str:
        """Markdown: the title, what is given (and the picture), the blanks or the answers."""
        mode = Solutions.of(mode)
        lines = self.lines(mode)
        body = [f"# {lines[0]}", ""]
        if picture:
            body += [f"![{_('the DAG')}]({picture})", ""]
        body += [f"- {line.strip()}" if line.startswith("  ") else line for line in lines[2:]]
        return "\n".join(body) + "\n"

    def to_html(self, mode: Solutions | str, picture: str | None = None) -> str:
        """An HTML fragment (escaped text): heading, given, picture, an ordered list."""
        mode = Solutions.of(mode)
        lines = self.lines(mode)
        parts = [f"<h2>{html.escape(lines[0])}</h2>"]
        if mode is Solutions.OFF:
            parts.append(f"<h3>{html.escape(_('Given'))}</h3><ul>" + "".join(
                f"<li>{html.escape(g)}</li>" for g in self.given) + "</ul>")
        if picture:
            parts.append(f'<p><img src="{html.escape(picture)}" '
                         f'alt="{html.escape(_("the DAG"))}"></p>')
        parts.append("<h3>" + html.escape(_("Fill in") if mode is Solutions.OFF else _("Key"))
                     + "</h3><ul>")
        for q in self.questions:
            if q.label in self.sections:
                parts.append(f"</ul><h4>{html.escape(self.sections[q.label])}</h4><ul>")
            text = f"{q.prompt} = {BLANK}" if mode is Solutions.OFF else q.answer
            parts.append(f"<li><b>({html.escape(q.label)})</b> "
                         f"{html.escape(text)}</li>")
        parts.append("</ul>")
        return "\n".join(parts)

    def to_latex(self, mode: Solutions | str) -> str:
        """A small LaTeX document for pdflatex (the reports' preamble, babel ngerman in German):
        the given items and an enumerate of blanks (a rule to write on) or answers."""
        from .report import LATEX_PREAMBLE, latex_babel, latex_text

        mode = Solutions.of(mode)
        lines = self.lines(mode)
        blank = r"\rule{3cm}{0.4pt}"
        body = [LATEX_PREAMBLE + latex_babel() + r"\begin{document}", r"\sloppy",
                rf"\section*{{{latex_text(lines[0])}}}"]
        if mode is Solutions.OFF:
            body += [rf"\paragraph{{{latex_text(_('Given'))}}}", r"\begin{itemize}",
                     *(rf"\item {latex_text(g)}" for g in self.given), r"\end{itemize}"]
        body.append(r"\begin{enumerate}")
        for q in self.questions:
            text = f"{latex_text(q.prompt)} = {blank}" if mode is Solutions.OFF \
                else latex_text(q.answer)
            body.append(rf"\item[({latex_text(q.label)})] {text}")
        body += [r"\end{enumerate}", r"\end{document}"]
        return "\n".join(body) + "\n"
