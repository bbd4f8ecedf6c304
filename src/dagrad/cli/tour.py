"""dagrad tour: the main job — work exercises (a), (b), (c) and a training run into one report."""

from __future__ import annotations

import argparse

from ..i18n import N_, _

NAME = "tour"
HELP = N_("the main job: work exercises (a), (b) and (c) of the sheet and a short training run "
          "into one report (index.html + figures + Markdown/LaTeX)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad tour``."""
    p.add_argument("-o", "--out", default="dagrad-report",
                   help=_("report folder (default: dagrad-report)"))
    p.add_argument("--only", default=None, metavar="PARTS",
                   help=_("run only these parts, comma-separated: a, b, c, train"))
    from ..explain.solutions import add_option

    add_option(p)
    p.add_argument("--pdf", metavar="PATH", default=None,
                   help=_("also print the report (index.html) to this PDF (A4, a page per "
                          "part) with headless Chromium"))


def run(args: argparse.Namespace) -> int:
    """Run the parts, print a concise summary and end with the report's path."""
    import os
    import time
    from pathlib import Path

    from ..tour import run_tour

    if getattr(args, "solutions", "on") != "on":  # the worksheets or the keys
        from .sheets import run_tour as run_sheets

        return run_sheets(args)
    only = [p.strip() for p in args.only.split(",") if p.strip()] if args.only else None
    t0 = time.perf_counter()
    print(_("dagrad tour — the exercise sheet on backpropagation, worked end to end"))
    sections, index = run_tour(Path(args.out), only)
    failed = [s.title for s in sections if not s.ok]
    checks = [c for s in sections for c in s.checks]
    passed = sum(c.passed for c in checks)
    summary = (_("{n} part in {seconds} s; {passed} of {total} independent checks pass")
               if len(sections) == 1 else
               _("{n} parts in {seconds} s; {passed} of {total} independent checks pass"))
    print(summary.format(n=len(sections), seconds=f"{time.perf_counter() - t0:.1f}",
                         passed=passed, total=len(checks))
          + ("" if not failed else "; " + _("FAILED in: {parts}").format(
              parts="; ".join(failed))))
    print(_("report: {path}").format(path=os.path.abspath(index)))
    if args.pdf:
        from ..pdf import write_pdf

        print(_("pdf: {path}").format(path=os.path.abspath(write_pdf(index, args.pdf))))
    return 1 if failed else 0
