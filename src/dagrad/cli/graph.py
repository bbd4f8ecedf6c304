"""dagrad graph: the DAG of any expression, every edge labelled with ∂target/∂source.

The expression goes through the safe parser (:mod:`dagrad.expression`, never ``eval``);
the point comes from ``--at``.  Everything the user typed is checked — expression, variables,
output suffix and folder — before anything is computed or written, so a refused command leaves
no file behind and exits with status 2 and one line saying why.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from ..i18n import N_, _

if TYPE_CHECKING:
    from ..dag.model import Graph

NAME = "graph"
HELP = N_("draw the DAG of an expression with ∂target/∂source on every edge; print the value, "
          "the gradient and the chain-rule derivation")

_EXAMPLE = '"100*(x2 - x1**2)**2 + (1 - x1)**2" --at x1=1.5,x2=2 -o rosenbrock.svg'


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad graph``."""
    p.epilog = _("example: {example}").format(example=f"dagrad graph {_EXAMPLE}")
    from ..expression import FUNCTIONS

    p.add_argument("expression",
                   help=_("numbers, pi, e, variables, + - * / ** and the op table's functions: "
                          "{functions}; student notation is read too (x^2, 2x, x², 2·x, |x|, "
                          "√x, e^x, ln(x), max(0, x)) and echoed as 'read as: ...'").format(
                              functions=", ".join(FUNCTIONS)))
    p.add_argument("--at", default="", metavar="NAME=VALUE,...",
                   help=_("the point: a value for every variable, e.g. x1=1.5,x2=2"))
    add_picture_options(p, fold_flag="--fold-constants")
    p.add_argument("--latex", action="store_true", help=_("print the derivation as LaTeX"))
    p.add_argument("--no-symbolic", action="store_true",
                   help=_("skip the simplified symbolic gradient (SymPy)"))


def add_picture_options(p: argparse.ArgumentParser, fold_flag: str) -> None:
    """-o/--out, --no-values, the constants flag and --rankdir (shared with rosenbrock)."""
    p.add_argument("-o", "--out", metavar="PATH",
                   help=_("write the DAG here; the suffix picks the format: .svg, .png, .pdf, "
                          "or .dot (Graphviz source, needs no Graphviz)"))
    p.add_argument("--html", metavar="PATH",
                   help=_("also write an interactive page (one offline .html file) that steps "
                          "through the forward and backward passes"))
    p.add_argument("--quiz", action="store_true",
                   help=_("with --html: the page asks each local derivative and adjoint of the "
                          "backward pass before showing it (right or wrong at once, a hint, a "
                          "score)"))
    p.add_argument("--no-values", action="store_true",
                   help=_("draw formulas only, without values and adjoints"))
    if fold_flag == "--fold-constants":
        p.add_argument(fold_flag, action="store_true",
                       help=_("leave constants out of the picture (their values show in the "
                              "ops)"))
    else:
        p.add_argument(fold_flag, action="store_true",
                       help=_("draw the constants (100, 1) as nodes of their own"))
    p.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                   help=_("layout direction: LR left to right (default), TB top to bottom"))


def check_output(path: str | None) -> None:
    """Refuse an output path with an unknown suffix, a missing folder, or no Graphviz to draw."""
    if not path:
        return
    from ..dag.render import INSTALL_HINT, output_format
    from . import UsageError

    try:
        fmt = output_format(path)
    except ValueError as e:
        raise UsageError(str(e)) from None
    _check_folder(path)
    if fmt not in ("dot", "gv"):
        import shutil

        if shutil.which("dot") is None:
            raise RuntimeError(INSTALL_HINT)


def check_html(path: str | None, quiz: bool = False) -> None:
    """Refuse an --html path that is not .html/.htm, is a folder, or has no folder; need dot;
    refuse --quiz without --html."""
    from . import UsageError

    if quiz and not path:
        raise UsageError(_("--quiz needs --html PATH: the quiz is the interactive page"))
    if not path:
        return

    if os.path.splitext(path)[1].lower() not in (".html", ".htm"):
        raise UsageError(_("--html {path!r}: the page's name must end in .html").format(
            path=path))
    _check_folder(path)
    import shutil

    if shutil.which("dot") is None:
        from ..dag.render import INSTALL_HINT

        raise RuntimeError(INSTALL_HINT)


def _check_folder(path: str) -> None:
    """Refuse a path whose folder does not exist, or that is a folder itself."""
    from . import UsageError

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(_("cannot write {path!r}: the folder {folder!r} does not exist").format(
            path=path, folder=folder))
    if os.path.isdir(path):
        raise UsageError(_("cannot write {path!r}: it is a folder").format(path=path))


def can_print(stream: TextIO, text: str = "∂∇→·−²\u0304") -> bool:
    """True when ``stream`` can encode the Unicode the derivation uses."""
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def report(g: Graph, *, unicode: bool, latex: bool = False, symbolic: bool = True) -> list[str]:
    """Value, gradient, the derivation and the simplified symbolic gradient, as lines."""
    from ..explain import dag_gradient

    return dag_gradient(g, symbolic=symbolic).lines(unicode=unicode, latex=latex)


def write_picture(g: Graph, args: argparse.Namespace, fold: bool, title: str | None = None) -> None:
    """Render the DAG to ``args.out`` and the stepper page to ``args.html`` (when given)."""
    constants = "fold" if fold else "nodes"
    rankdir = getattr(args, "rankdir", "LR")
    if getattr(args, "out", None):
        g.render(args.out, values=not getattr(args, "no_values", False), constants=constants,
                 rankdir=rankdir)
        print(_("wrote {path}").format(path=args.out))
    if getattr(args, "html", None):
        g.to_html(args.html, constants=constants, rankdir=rankdir, title=title,
                  quiz=getattr(args, "quiz", False))
        quiz = getattr(args, "quiz", False)
        print((_("wrote {path} (quiz)") if quiz else _("wrote {path}")).format(path=args.html))


def echo_reading(source: str, label: str = "") -> None:
    """Print how student notation was read (``read as: 2*x**2 + exp(x)``), when it matters:
    the reading differs from what was typed, or there is a note (a variable power)."""
    from ..expression import ExpressionError, parse

    try:
        expr = parse(source)
    except ExpressionError:
        return  # the command's own parse says why
    if expr.rewritten or expr.notes:
        print(f"{label}{expr.read_as}")


def build(source: str, at_text: str) -> Graph:
    """Parse, check the point, evaluate with float64 leaves and return the DAG (errors: exit 2)."""
    import numpy as np

    import dagrad as dg

    from ..expression import parse, parse_assignments
    from . import UsageError

    expr = parse(source)
    if not expr.variables:
        raise UsageError(_("the expression has no variables, so there is nothing to "
                           "differentiate"))
    at = parse_assignments(at_text or "")
    missing = [v for v in expr.variables if v not in at]
    extra = [v for v in at if v not in expr.variables]
    if missing or extra:
        parts = []
        if missing:
            parts.append(_("--at is missing {names}").format(names=", ".join(missing)))
        if extra:
            parts.append(_("--at names {names}, which the expression does not use").format(
                names=", ".join(extra)))
        raise UsageError("; ".join(parts) + " " + _(
            "(the expression's variables: {names}; e.g. --at {example})").format(
                names=", ".join(expr.variables),
                example=",".join(f"{v}=1" for v in expr.variables)))
    leaves = {v: dg.tensor(at[v], dtype="float64", requires_grad=True, name=v)
              for v in expr.variables}
    with np.errstate(all="ignore"):
        out = expr.evaluate(leaves)
        if not isinstance(out, dg.Tensor) or not out.requires_grad:
            raise UsageError(_("the expression does not depend on its variables"))
        value = float(out.item())
        if not np.isfinite(value):
            raise UsageError(_("the expression is not finite at this point ({value}); choose "
                               "another point with --at").format(value=value))
        return dg.graph(out)


def run(args: argparse.Namespace) -> int:
    """Parse, evaluate, differentiate, print the derivation and draw the DAG."""
    import numpy as np

    check_output(args.out)
    check_html(args.html, getattr(args, "quiz", False))
    g = build(args.expression, args.at)
    unicode = can_print(sys.stdout)
    at = ", ".join(f"{x.name}={float(np.asarray(x.value)):g}" for x in g.leaves)
    print(_("{name} = {expression}   at {point}").format(name=g.output.name,
                                                          expression=args.expression, point=at))
    echo_reading(args.expression)
    for line in report(g, unicode=unicode, latex=args.latex, symbolic=not args.no_symbolic):
        print(line)
    if not all(np.all(np.isfinite(x.grad)) for x in g.leaves):
        print(_("warning: the gradient is not finite at this point"), file=sys.stderr)
    write_picture(g, args, fold=args.fold_constants,
                  title=f"{g.output.name} = {args.expression}")
    return 0
