"""What each subcommand needs beyond NumPy, worked out from its options before it does any work.

The default install (``pip install dagrad``) is NumPy only, which keeps ``import dagrad`` light.
Formulas and derivations need SymPy, plots matplotlib, DAG pictures Graphviz's ``dot`` program
(and the MLP's layer DAG the graphviz package too).  :data:`NEEDS` maps every subcommand to a
function of its parsed options that lists what this run would use; :func:`missing_message`
turns what is not installed into one line: what is missing and what for, the pip extra and the
Debian package that install it, and how to do without where an option allows.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..i18n import N_, _

__all__ = ["Requirement", "Need", "NEEDS", "SYMPY", "MATPLOTLIB", "GRAPHVIZ", "DOT", "CHROMIUM",
           "PYPDF", "needs_of", "missing_message", "join_words"]


@dataclass(frozen=True)
class Requirement:
    """A Python package (``module``) or a program on PATH, and what installs it."""

    label: str
    module: str = ""
    program: str = ""
    extra: str = ""  # dagrad's pip extra
    apt: str = ""  # the Debian/Ubuntu package

    def available(self) -> bool:
        """True when the module can be imported (found, not imported) or the program is on PATH
        (for ``chromium``: what ``dagrad.pdf`` would print with, ``$DAGRAD_CHROMIUM`` too)."""
        if self.program == "chromium":
            from ..pdf import PdfUnavailable, find_chromium

            try:
                return find_chromium() is not None
            except PdfUnavailable:
                return False
        if self.program:
            return shutil.which(self.program) is not None
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):  # a finder that refuses it, or a broken module
            return False


SYMPY = Requirement("SymPy", module="sympy", extra="symbolic")
MATPLOTLIB = Requirement("matplotlib", module="matplotlib", extra="plot")
GRAPHVIZ = Requirement(N_("the graphviz package"), module="graphviz", extra="draw")
DOT = Requirement(N_("Graphviz's dot program"), program="dot", apt="graphviz")
CHROMIUM = Requirement(N_("headless Chromium"), program="chromium", apt="chromium")
PYPDF = Requirement("pypdf", module="pypdf", extra="pdf")


@dataclass(frozen=True)
class Need:
    """A requirement this run would use, what for, and how to run without it (if it can);
    the purpose and the way without are already in the language of the run."""

    requirement: Requirement
    purpose: str
    without: str = ""


# ----- the table -------------------------------------------------------------------------------
_DRAWN = (".svg", ".png", ".pdf")  # .dot/.gv is DOT source, written without Graphviz


def _suffix(path: str | None) -> str:
    return os.path.splitext(path or "")[1].lower()


def _picture(args: argparse.Namespace) -> list[Need]:
    """-o as a drawn picture and --html (laid out by dot), as graph and rosenbrock take them."""
    needs = []
    if _suffix(getattr(args, "out", None)) in _DRAWN:
        needs.append(Need(DOT, _("to draw {path}").format(path=args.out),
                          _("or write DOT source instead (-o with a .dot suffix)")))
    if getattr(args, "html", None):
        needs.append(Need(DOT, _("to lay out the DAG of {path}").format(path=args.html)))
    return needs


def _pdf(args: argparse.Namespace) -> list[Need]:
    """--pdf PATH: Chromium prints the page, pypdf fixes its metadata."""
    path = getattr(args, "pdf", None)
    if not path:
        return []
    return [Need(CHROMIUM, _("to print {path}").format(path=path), _("or leave out --pdf")),
            Need(PYPDF, _("to write {path}").format(path=path), _("or leave out --pdf"))]


def _graph(args: argparse.Namespace) -> list[Need]:
    return [Need(SYMPY, _("for the edge formulas and the chain-rule derivation")),
            *_picture(args)]


def _rosenbrock(args: argparse.Namespace) -> list[Need]:
    return [Need(SYMPY, _("for the edge formulas and the symbolic check")), *_picture(args),
            *_pdf(args)]


def _without_sympy() -> tuple[str, ...]:
    """The table's activations whose closed forms are written out in NumPy (no SymPy needed)."""
    from ..closed_forms import WITHOUT_SYMPY

    return tuple(WITHOUT_SYMPY)


def _is_activation_name(item: str) -> bool:
    """True for a name (or ``name(x)``, ``leaky_relu:SLOPE``) that needs no SymPy."""
    key = item.strip().lower().replace("-", "_")
    call = re.fullmatch(r"(\w+)\(\s*x\s*\)", item.strip())
    names = _without_sympy()
    return (key in names or key.split(":", 1)[0] == "leaky_relu" and ":" in key
            or (call is not None and call.group(1) in names))


def _vanishing(args: argparse.Namespace) -> list[Need]:
    needs = _pdf(args)
    if getattr(args, "pdf", None):
        needs.append(Need(MATPLOTLIB, _("to plot into {path}").format(path=args.pdf),
                          _("or leave out --pdf")))
    if getattr(args, "out", None) and _suffix(args.out) in (".png", ".svg"):
        needs.append(Need(MATPLOTLIB, _("to plot {path}").format(path=args.out),
                          _("or leave out -o")))
    # an item with a comma inside parentheses splits into pieces that are no names either
    items = (getattr(args, "activations", None) or "").split(",")
    if not getattr(args, "mlp", False) and not all(_is_activation_name(i) for i in items if i):
        needs.append(Need(SYMPY, _("for σ' of an activation typed as an expression"),
                          _("or use the named activations ({names})").format(
                              names=", ".join(_without_sympy()))))
    return needs


def _tour_parts() -> dict[str, list[Need]]:
    """What each part of the tour needs (built when asked, in the language of the run)."""
    return {
        "a": [Need(MATPLOTLIB, _("for the plots of part a")),
              Need(SYMPY, _("for σ' of part a's expression activation"))],
        "b": [Need(SYMPY, _("for part b's formulas")), Need(DOT, _("to draw part b's DAG"))],
        "c": [Need(GRAPHVIZ, _("to draw part c's DAG")), Need(DOT, _("to draw part c's DAG"))],
        "train": [Need(MATPLOTLIB, _("for the training plots"))],
    }


def _tour(args: argparse.Namespace) -> list[Need]:
    table = _tour_parts()
    only = getattr(args, "only", None)
    parts = [p.strip() for p in only.split(",") if p.strip()] if only else list(table)
    hint = _("or run only some parts with --only") if not only else ""
    return [Need(n.requirement, n.purpose, hint) for p in parts for n in table.get(p, [])] \
        + _pdf(args)


def _train(args: argparse.Namespace) -> list[Need]:
    if not getattr(args, "plots", True):
        return []
    return [Need(MATPLOTLIB, _("for curves.png and confusion.png"),
                 _("or run with --no-plots to train without them"))]


def _evaluate(args: argparse.Namespace) -> list[Need]:
    if not getattr(args, "out", None) or not getattr(args, "plots", True):
        return []
    return [Need(MATPLOTLIB, _("for confusion.png"), _("or run with --no-plots"))]


def _mlp_jacobians(args: argparse.Namespace) -> list[Need]:
    act = getattr(args, "activation", None) or "tanh"
    if act in _without_sympy() or act == "identity":
        return _pdf(args)
    return [*_pdf(args),
            Need(SYMPY, _("for the closed form of {activation}'s Jacobian (sympy.diff)").format(
                activation=act),
                 _("or use an activation written out in NumPy ({names})").format(
                     names=", ".join(_without_sympy())))]


def _check(args: argparse.Namespace) -> list[Need]:
    if getattr(args, "kind", None) == "sizes":
        return []
    return [Need(SYMPY, _("to decide the answer (SymPy's derivatives, Jacobians and "
                          "canonical forms)"))]


def _exercise(args: argparse.Namespace) -> list[Need]:
    needs = [Need(SYMPY, _("to check every solution (exact derivatives) before it is written"))]
    if getattr(args, "solutions", "on") != "off":
        without = _("or write the handout only with --solutions off")
        needs += [Need(GRAPHVIZ, _("to draw the key's DAGs"), without),
                  Need(DOT, _("to draw the key's DAGs"), without)]
    return needs


#: subcommand -> what a run with these options needs beyond NumPy.  mlp-jacobians needs
#: nothing more for the written-out activations: without Graphviz it writes its reports and
#: says it drew no DAG.
NEEDS: dict[str, Callable[[argparse.Namespace], list[Need]]] = {
    "tour": _tour,
    "rosenbrock": _rosenbrock,
    "graph": _graph,
    "vanishing": _vanishing,
    "mlp-jacobians": _mlp_jacobians,
    "train": _train,
    "evaluate": _evaluate,
    "check": _check,
    "exercise": _exercise,
}


def needs_of(command: str, args: argparse.Namespace) -> list[Need]:
    """What ``dagrad COMMAND`` with these options would use beyond NumPy."""
    return NEEDS.get(command, lambda a: [])(args)


# ----- the message -----------------------------------------------------------------------------
def join_words(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c' (the 'and' in the current language)."""
    if len(words) == 1:
        return words[0]
    return _("{first} and {last}").format(first=", ".join(words[:-1]), last=words[-1])


def missing_message(command: str, needs: Sequence[Need]) -> str | None:
    """One line naming what is missing and the exact install commands; None if nothing is."""
    missing: dict[Requirement, list[str]] = {}
    withouts: list[str] = []
    for need in needs:
        if need.requirement in missing or not need.requirement.available():
            purposes = missing.setdefault(need.requirement, [])
            if need.purpose not in purposes:
                purposes.append(need.purpose)
            if need.without and need.without not in withouts:
                withouts.append(need.without)
    if not missing:
        return None
    what = join_words([f"{_(req.label)} ({'; '.join(why)})" for req, why in missing.items()])
    extras = [req.extra for req in missing if req.extra]
    apts = [req.apt for req in missing if req.apt]
    how = []
    if extras:
        how.append(f"pip install 'dagrad[{','.join(extras)}]'")
    if apts:
        pkgs = " ".join(apts)
        how.append(_("apt-get install {packages} (Debian/Ubuntu; elsewhere conda install "
                     "{packages} or brew install {packages})").format(packages=pkgs))
    if len(missing) == 1:
        line = _("dagrad {command}: {what} is not installed; install with: {how}")
    else:
        line = _("dagrad {command}: {what} are not installed; install with: {how}")
    line = line.format(command=command, what=what, how=join_words(how))
    return line + (f" — {'; '.join(withouts)}" if withouts else "")
