"""The tour: the exercise sheet worked end to end into one report (``dagrad tour``).

Each part is a function ``run(out: Path) -> Section`` in its own module — (a) vanishing
gradients, (b) the Rosenbrock DAG, (c) the MLP's Jacobian chain, and a short training run — and
:func:`write_report` puts the sections together into ``index.html`` beside their figures and
Markdown/LaTeX sources.  A part lists its independent checks in ``Section.checks``
(:class:`Check`: what, computed by, oracle, passed); the page shows exactly those.  The prose is
written in the language ``_()`` writes while the tour runs (``--lang``): ``PARTS`` holds the
titles as English msgids and :func:`title` translates them; the numbers and formulas are shared.
"""

from __future__ import annotations

from .report import PARTS, Check, Section, run_tour, title, write_report

__all__ = ["PARTS", "Check", "Section", "run_tour", "title", "write_report"]
