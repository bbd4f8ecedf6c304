"""The report every check returns: the verdict, how it was decided, the diagnosis and the point.

One dataclass for all six kinds of answer (gradient, edges, adjoints, sizes, jacobian, bound);
it renders through :mod:`dagrad.check.render` with the explainers' one convention
(:class:`dagrad.explain.rendering.Rendering`: ``str``, ``to_markdown``, ``to_latex``,
``_repr_html_``).  A report is written in the language that was active when the check ran
(``--lang``, :func:`dagrad.i18n.use_language`): its diagnosis is prose made then, and its headings
follow it whenever it is rendered.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..explain.rendering import Rendering
from ..i18n import N_, _, get_language, use_language

__all__ = ["CheckReport", "Table", "RIGHT", "WRONG"]

RIGHT = "right"
WRONG = "wrong"
#: the verdicts as the reports write them (the API's RIGHT/WRONG stay English)
VERDICT_WORDS = {RIGHT: N_("right"), WRONG: N_("wrong")}


@dataclass
class Table:
    """A table of the report: a caption, column headers and rows of text or numbers."""

    caption: str
    headers: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)


@dataclass
class CheckReport(Rendering):
    """A student's answer checked: ``verdict`` (right/wrong), ``how`` it was decided, the
    ``diagnosis`` (sentences naming the mistake), the ``point`` where the answer and the truth
    differ (with ``values``: answer's and right value there), and tables of the details."""

    kind: str                       # gradient | edges | adjoints | sizes | jacobian | bound
    question: str                   # what was asked, e.g. "∂f/∂x1 of f = …"
    answer: str                     # the answer as typed
    verdict: str                    # RIGHT or WRONG
    how: str                        # how the verdict was decided (oracle, points, trials)
    diagnosis: list[str] = field(default_factory=list)
    point: dict[str, float] | None = None
    values: dict[str, float] = field(default_factory=dict)  # "yours", "right" at the point
    read_as: list[str] = field(default_factory=list)        # how typed expressions were read
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict, repr=False)  # kind-specific results
    language: str = field(default_factory=get_language)     # the language it is written in

    def _render(self) -> Any:
        return importlib.import_module(f"{__package__}.render")

    @property
    def ok(self) -> bool:
        """True when the answer is right."""
        return self.verdict == RIGHT

    @property
    def verdict_word(self) -> str:
        """The verdict in the report's language ("right", "falsch", …)."""
        with use_language(self.language):
            return _(VERDICT_WORDS.get(self.verdict, self.verdict))

    @property
    def title(self) -> str:
        """A one-line heading: the kind of answer and the verdict."""
        with use_language(self.language):
            return _("check {kind}: {verdict}").format(kind=self.kind,
                                                       verdict=self.verdict_word.upper())

    def lines(self, unicode: bool = True) -> list[str]:
        """The report as terminal lines (ASCII spellings where ``unicode`` is False)."""
        return self._render().report_lines(self, unicode=unicode)
