"""dagrad check: check your own answer to the sheet — right (exit 0), wrong with the diagnosis
(exit 1), or bad input (exit 2).

One subcommand per kind of answer: ``gradient`` (∂f/∂x, the mistake located on the DAG's
paths), ``edges`` (local derivatives on named edges), ``adjoints`` (values at a point),
``sizes`` (a Jacobian chain's factor sizes for the MLP), ``jacobian`` (an activation's or
softmax's Jacobian as a matrix expression) and ``bound`` (a bound on |∂h_n/∂w_i|, searched for
a counterexample).  The work is :mod:`dagrad.check`'s; this module reads the options.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..i18n import LANGUAGES, N_, _, translated_parser

NAME = "check"
HELP = N_("check your own answer: a gradient, edge derivatives, adjoints, Jacobian sizes, a "
          "Jacobian or a bound — right (exit 0), or wrong with where the mistake is (exit 1)")

_EXAMPLES = """
  dagrad check gradient "100*(x2 - x1**2)**2 + (1 - x1)**2" --wrt x1 \\
      --answer "-200*x1*(x2 - x1**2) - 2*(1 - x1)"
  dagrad check edges "100*(x2 - x1**2)**2 + (1 - x1)**2" --edge "v2->v3=2*v2"
  dagrad check adjoints "100*(x2 - x1**2)**2 + (1 - x1)**2" --at x1=1.5,x2=2 --adjoint v2=-50
  dagrad check sizes --quantity grad_x --sizes "1x10 · 10x256 · 256x256 · 256x784"
  dagrad check jacobian softmax --answer "diag(s) - s @ sᵀ"
  dagrad check bound --activation sigmoid --bound "max(abs(h0), 1) * (1/4)**(n-i+1)"
"""


def _language(p: argparse.ArgumentParser) -> None:
    # main() has applied --lang before parsing; here it is listed and its value checked
    p.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS,
                   help=_("language of the output, the reports and --help (default: "
                          "DAGRAD_LANG, else the locale, else en)"))


def _markdown(p: argparse.ArgumentParser) -> None:
    p.add_argument("--markdown", metavar="PATH", help=_("also write the report as Markdown"))
    _language(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0,
                   help=_("seed of the random points or trials (default 0)"))
    _markdown(p)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad check`` and its subcommands."""
    from .parser import CommandParser

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = _("examples:") + _EXAMPLES
    sub = p.add_subparsers(dest="kind", metavar="KIND",
                           parser_class=translated_parser(CommandParser))
    sub.required = True
    g = sub.add_parser("gradient", help=_("∂f/∂x by hand; where the mistake is on the DAG's "
                                          "paths"),
                       description=_("check a hand-derived ∂f/∂x; when wrong, say which path of "
                                     "the chain rule is missing, extra or off by which factor"))
    g.add_argument("expression", help=_("f, e.g. {example}").format(
        example="\"100*(x2 - x1**2)**2 + (1 - x1)**2\""))
    g.add_argument("--wrt", required=True, metavar="VAR", help=_("the variable, e.g. x1"))
    g.add_argument("--answer", required=True, metavar="EXPR", help=_("your ∂f/∂VAR"))
    _common(g)
    e = sub.add_parser("edges", help=_("local derivatives on named edges of the DAG"),
                       description=_("check ∂target/∂source on edges named as 'dagrad graph' "
                                     "draws them"))
    e.add_argument("expression", help="f")
    e.add_argument("--edge", action="append", required=True, metavar="SRC->TGT=EXPR",
                   help=_("an edge and your derivative, e.g. {example} (repeat the option)")
                   .format(example="\"v2->v3=2*v2\""))
    e.add_argument("--at", default="", metavar="NAME=VALUE,...",
                   help=_("the point for the values shown (default: a random one)"))
    _common(e)
    a = sub.add_parser("adjoints", help=_("adjoint values v̄ = ∂f/∂v at a point"),
                       description=_("check adjoints node by node; the first wrong one in "
                                     "backward order is explained"))
    a.add_argument("expression", help="f")
    a.add_argument("--at", required=True, metavar="NAME=VALUE,...", help=_("the point"))
    a.add_argument("--adjoint", action="append", required=True, metavar="NODE=VALUE",
                   help=_("a node and your adjoint, e.g. v2=-50 (repeat the option)"))
    _common(a)
    s = sub.add_parser("sizes", help=_("the factor sizes of ∇x L, ∇b1 L or ∇W1 L of the MLP"),
                       description=_("check a chain of factor sizes against the sheet's chains"))
    s.add_argument("--quantity", required=True, choices=("grad_x", "grad_b1", "grad_W1"),
                   help=_("the gradient whose chain you wrote"))
    s.add_argument("--sizes", required=True, metavar="CHAIN",
                   help=_("e.g. {example} (x, × or * inside a size; · @ or blanks between "
                          "factors; optionally → RESULT)").format(
                              example="\"1x10 · 10x256 · 256x256 · 256x784\""))
    s.add_argument("--sizes-of", default="784,256,256,10", metavar="N0,N1,...",
                   help=_("the MLP's layer sizes (default the sheet's 784,256,256,10)"))
    _markdown(s)
    j = sub.add_parser("jacobian", help=_("the Jacobian of softmax or an activation, in s or z"),
                       description=_("check a Jacobian written as a matrix expression in s (the "
                                     "output) or z (the input) at random points"))
    j.add_argument("function", help=_("softmax or an activation (tanh, sigmoid, relu, …)"))
    j.add_argument("--answer", required=True, metavar="MATRIX",
                   help=_("e.g. {example}; @ or · product, ᵀ ^T or .T transpose, diag(v), I")
                   .format(example="\"diag(s) - s @ sᵀ\""))
    j.add_argument("--dim", type=int, default=4,
                   help=_("the number of inputs n (default 4)"))
    _common(j)
    b = sub.add_parser("bound", help=_("a bound on |∂h_n/∂w_i| of the chain h_k = "
                                       "σ(w_k h_(k-1))"),
                       description=_("search for a counterexample to a claimed bound; say how "
                                     "close the search came (tightness)"))
    b.add_argument("--activation", required=True,
                   help=_("sigmoid, tanh, relu, … or an expression in x"))
    b.add_argument("--bound", required=True, metavar="EXPR",
                   help=_("in h0 (the input), n, i and w (the largest |w_k|), e.g. {example}")
                   .format(example="\"abs(h0) * (1/4)**(n-i+1)\""))
    b.add_argument("--w-max", type=float, default=1.0,
                   help=_("the weights' bound |w_k| ≤ W (default 1, the sheet's assumption)"))
    b.add_argument("--trials", type=int, default=2000,
                   help=_("random trials (default 2000)"))
    b.add_argument("--max-n", type=int, default=12,
                   help=_("the deepest chain tried (default 12)"))
    _common(b)


def _layer_sizes(text: str) -> list[int]:
    from . import UsageError

    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise UsageError(_("--sizes-of {text!r}: comma-separated layer sizes, e.g. "
                           "784,256,256,10").format(text=text)) from None


def _report(args: argparse.Namespace):
    from .. import check

    kind = args.kind
    if kind == "gradient":
        return check.gradient(args.expression, args.wrt, args.answer, seed=args.seed)
    if kind == "edges":
        return check.edges(args.expression, args.edge, at=args.at or None, seed=args.seed)
    if kind == "adjoints":
        return check.adjoints(args.expression, args.adjoint, at=args.at, seed=args.seed)
    if kind == "sizes":
        return check.sizes(args.quantity, args.sizes, layer_sizes=_layer_sizes(args.sizes_of))
    if kind == "jacobian":
        return check.jacobian(args.function, args.answer, seed=args.seed, dim=args.dim)
    return check.bound(args.activation, args.bound, w_max=args.w_max, trials=args.trials,
                       max_n=args.max_n, seed=args.seed)


def _check_markdown(path: str | None) -> None:
    from . import UsageError

    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(_("cannot write {path!r}: the folder {folder!r} does not exist")
                         .format(path=path, folder=folder))
    if os.path.isdir(path):
        raise UsageError(_("cannot write {path!r}: it is a folder").format(path=path))


def run(args: argparse.Namespace) -> int:
    """Check the answer, print the report; 0 when right, 1 when wrong."""
    from ..i18n import set_language
    from .graph import can_print

    if getattr(args, "lang", None):
        set_language(args.lang)
    _check_markdown(getattr(args, "markdown", None))
    report = _report(args)
    for line in report.lines(unicode=can_print(sys.stdout)):
        print(line)
    if getattr(args, "markdown", None):
        from ..atomic import atomic_write

        with atomic_write(args.markdown, "w", encoding="utf-8") as f:
            f.write(report.to_markdown() + "\n")
        print(_("wrote {path}").format(path=args.markdown))
    return 0 if report.ok else 1
