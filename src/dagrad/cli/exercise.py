"""dagrad exercise: a new sheet of the course's form and its verified key, in German or English."""

from __future__ import annotations

import argparse
import sys

from ..i18n import LANGUAGES, N_, _

NAME = "exercise"
HELP = N_("write a new exercise sheet (parts a, b, c in the form of the course's sheet) and its "
          "solution key as HTML, Markdown and LaTeX (and PDF); every solution is computed by "
          "dagrad and checked against SymPy, closed forms or finite differences first")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad exercise`` (help in the language of ``--lang``)."""
    from ..exercise import SOLUTIONS

    p.epilog = _("example: {example}").format(
        example="dagrad exercise --seed 7 --lang de --pdf -o w7/")
    p.add_argument("--seed", type=int, required=True, metavar="N",
                   help=_("the sheet's number: the same seed gives the same sheet, byte for "
                          "byte"))
    p.add_argument("--parts", default="a,b,c", metavar="a,b,c",
                   help=_("which parts to write (default: all three)"))
    p.add_argument("--lang", choices=LANGUAGES, default=None,
                   help=_("language of the sheet, the output and --help (default: DAGRAD_LANG, "
                          "else the locale, else en)"))
    p.add_argument("--solutions", choices=SOLUTIONS, default="on",
                   help=_("off: the handout only; on: handout and key (default); only: the key "
                          "only"))
    p.add_argument("--pdf", action="store_true",
                   help=_("also print each HTML page to PDF through headless Chromium"))
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help=_("folder for the files (default: sheetN)"))


def run(args: argparse.Namespace) -> int:
    """Draw, solve and check the variants, then write the handout and the key."""
    from ..exercise import ExerciseCheckError, make_sheet, parse_parts, write_sheet
    from ..i18n import set_language
    from . import UsageError

    if args.lang is not None:
        set_language(args.lang)
    if args.seed < 0:
        raise UsageError(_("--seed must be an integer ≥ 0, got {seed}").format(seed=args.seed))
    try:
        parts = parse_parts(args.parts)
    except ValueError:
        raise UsageError(_("--parts: expected some of a, b, c separated by commas, got "
                           "{parts!r}").format(parts=args.parts)) from None
    out = args.out or f"sheet{args.seed}"
    if args.pdf:
        import importlib.util

        from ..pdf import PdfUnavailable, find_chromium

        if importlib.util.find_spec("pypdf") is None:
            raise UsageError(_("--pdf needs pypdf: pip install 'dagrad[pdf]', or leave out "
                               "--pdf"))
        try:
            chromium = find_chromium()
        except PdfUnavailable as e:  # DAGRAD_CHROMIUM names no program
            raise UsageError(str(e)) from None
        if chromium is None:
            raise UsageError(_("--pdf needs headless Chromium, which was not found: install "
                               "Debian's chromium (apt-get install chromium) or set "
                               "DAGRAD_CHROMIUM, or leave out --pdf"))
    try:
        sheet = make_sheet(args.seed, parts, figures=args.solutions != "off")
    except ExerciseCheckError as e:
        print(_("dagrad exercise: a check failed, nothing was written: {error}").format(error=e),
              file=sys.stderr)
        return 1
    written = write_sheet(sheet, out, solutions=args.solutions, pdf=args.pdf)
    print(_("sheet {seed}, parts {parts}: {n} checks passed (SymPy, closed forms, finite "
            "differences)").format(seed=sheet.seed, parts=", ".join(sheet.parts),
                                   n=len(sheet.checks)))
    print(_("wrote {files} to {folder}/").format(
        files=", ".join(p.name for p in written), folder=out.rstrip("/")))
    return 0
