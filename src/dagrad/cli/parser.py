"""The subcommands' argument parser: an argument that starts with a minus may be an expression.

argparse takes every argument that starts with ``-`` for an option, so ``dagrad graph "-x**2"``
failed with "the following arguments are required: expression" and ``--activations -x,tanh``
with "expected one argument".  :class:`CommandParser` reads such an argument as a value (a
positional, or the value of the option before it) unless it names one of the command's options:
exactly (``--at``, ``-o``, ``--at=x=3``), as an abbreviation of a long option (``--no-sym``),
or as a short option with its value attached (``-ofile.svg``).  A short flag that takes no value
(``-h``) followed by characters no option name has (``-h**2``) is an expression too.  Arguments
after ``--`` are never options, as in argparse.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = ["CommandParser", "is_option"]

# what an option's name can be made of (before any "=value")
_OPTION_NAME = re.compile(r"-[A-Za-z0-9_-]*\Z")


def is_option(arg: str, options: dict[str, argparse.Action]) -> bool:
    """True when ``arg`` names one of ``options`` (option string → action), as argparse reads it."""
    if not arg.startswith("-") or arg == "-":
        return False
    name = arg.split("=", 1)[0]
    if name in options:
        return True
    if arg.startswith("--"):
        return True  # a long option (or an abbreviation, or a typo argparse will name)
    action = options.get(arg[:2])
    if action is None:
        return False
    return action.nargs != 0 or bool(_OPTION_NAME.match(arg))


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that reads a non-option argument starting with ``-`` as a value."""

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        """argparse's parse_known_args after shielding expressions such as ``-x**2``."""
        if args is None:
            return super().parse_known_args(args, namespace)
        # argparse reads an argument that does not start with "-" as a value; a leading space
        # keeps the text (float(" -1") == -1, the expression parser skips spaces) and is
        # taken off again below
        options = self._option_string_actions
        shielded: dict[str, str] = {}
        out: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                out += args[i:]
                break
            if arg.startswith("-") and len(arg) > 1 and not is_option(arg, options):
                shielded[" " + arg] = arg
                arg = " " + arg
            out.append(arg)
        self._shielded = shielded
        ns, extra = super().parse_known_args(out, namespace)
        if shielded:
            for key, value in vars(ns).items():
                setattr(ns, key, _unshield(value, shielded))
            extra = [shielded.get(a, a) for a in extra]
        return ns, extra

    def error(self, message: str) -> NoReturn:
        """argparse's usage error (exit 2), quoting the arguments as the user typed them."""
        for padded, arg in getattr(self, "_shielded", {}).items():
            message = message.replace(repr(padded), repr(arg))
        super().error(message)


def _unshield(value: Any, shielded: dict[str, str]) -> Any:
    if isinstance(value, str):
        return shielded.get(value, value)
    if isinstance(value, list):
        return [shielded.get(v, v) if isinstance(v, str) else v for v in value]
    return value
