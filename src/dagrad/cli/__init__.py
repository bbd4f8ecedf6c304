"""The ``dagrad`` command: one subcommand per capability, each in its own module here.

A subcommand module defines ``NAME``, ``HELP`` (marked ``N_``, translated where the parser is
built), ``add_arguments(parser)`` and ``run(args) -> int`` and keeps heavy imports inside ``run``
so ``dagrad --help`` stays fast.  Every command takes ``--lang {en,de}`` (added here, in one
place); its help, its messages and argparse's own strings are in that language.  Errors a user
can fix (bad expressions, missing files, wrong shapes) exit with status 2 and one clear line; set
``DAGRAD_DEBUG=1`` to see the traceback.  Before ``run`` is called, :mod:`.needs` works out from
the options what the run needs beyond NumPy (SymPy, matplotlib, Graphviz); if any of it is not
installed the command does nothing and exits with status 2, saying what to install.  Arguments
that start with a minus but name no option (``dagrad graph "-x**2"``) are values (:mod:`.parser`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..i18n import LANGUAGES, _, language_from_argv, translated_parser, use_language
from .needs import missing_message, needs_of
from .parser import CommandParser

# subcommand name -> module (in the order --help lists them)
COMMANDS = {
    "tour": "tour",
    "rosenbrock": "rosenbrock",
    "graph": "graph",
    "vanishing": "vanishing",
    "mlp-jacobians": "mlp_jacobians",
    "train": "train",
    "evaluate": "evaluate",
    "check": "check",
    "exercise": "exercise",
}


class UsageError(Exception):
    """A problem with what the user asked for (exit status 2)."""


def add_language_option(parser: argparse.ArgumentParser) -> None:
    """``--lang {en,de}`` on ``parser`` (main reads its value before the parser is built, so
    that ``--help`` and argparse's messages are already in that language)."""
    if "--lang" in parser._option_string_actions:
        return  # the command declares it itself (exercise)
    parser.add_argument("--lang", choices=LANGUAGES, default=None,
                        help=_("language of the output, the reports and --help (default: "
                               "DAGRAD_LANG, else the locale, else en)"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand (its text in the current language)."""
    parser = translated_parser()(
        prog="dagrad",
        description=_("dagrad — backpropagation you can see and trust. Autodiff on NumPy that "
                      "draws its DAG, labels every edge with its local derivative, explains "
                      "gradients as Jacobian chains, and trains real networks."),
        epilog=_("Run 'dagrad COMMAND --help' for a command's options. A command that needs "
                 "SymPy, matplotlib or Graphviz says so before it starts; pip install "
                 "'dagrad[all]' and apt-get install graphviz give every command all it needs."))
    parser.add_argument("--version", action="version", version=f"dagrad {__version__}")
    add_language_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                parser_class=translated_parser(CommandParser))
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f".{module}", __name__)
        except ModuleNotFoundError as e:
            if e.name and e.name.endswith(f"cli.{module}"):
                continue  # not built yet
            raise
        p = sub.add_parser(name, help=_(mod.HELP), description=_(mod.HELP))
        mod.add_arguments(p)
        add_language_option(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dagrad`` console command; ``--lang`` holds for this call only."""
    # --lang is read first, so that --help and argparse's messages are in that language (an
    # unknown value is left to argparse, which names the choices)
    lang = language_from_argv(sys.argv[1:] if argv is None else argv)
    lang = lang if lang in LANGUAGES else None
    try:
        with use_language(lang):
            pass
    except ValueError as e:  # DAGRAD_LANG names no language dagrad writes
        # no language to write in yet: DAGRAD_LANG itself is what is wrong
        print(f"dagrad: error: {e}", file=sys.stderr)
        return 2
    with use_language(lang):  # the previous setting comes back after the command
        return _command(argv)


def _command(argv: Sequence[str] | None) -> int:
    """Parse, check what the run needs, run it; errors as one line (status 2 or 1)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    missing = missing_message(args.command, needs_of(args.command, args))
    if missing:
        print(missing, file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(_("dagrad: interrupted"), file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - one clear line instead of a traceback
        if os.environ.get("DAGRAD_DEBUG"):
            raise
        from ..expression import ExpressionError

        user = isinstance(e, (UsageError, ExpressionError, ValueError, FileNotFoundError,
                              TypeError, KeyError))
        print(_("dagrad {command}: error: {error}").format(command=args.command, error=e),
              file=sys.stderr)
        return 2 if user else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
