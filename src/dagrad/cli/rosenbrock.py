"""dagrad rosenbrock: exercise (b) — f(x) = 100(x2 − x1²)² + (1 − x1)² by backprop, as a DAG.

Prints f and ∇f by backprop beside the closed form, then the DAG built from +, −, × and natural
powers only (x1, x2 are scalar leaves), every edge's local derivative, the chain-rule derivation,
and the symbolic gradient checked against the closed form; ``-o`` draws the DAG and ``--html``
writes the interactive backprop stepper.
"""

from __future__ import annotations

import argparse
import sys

from ..i18n import N_, _
from .graph import add_picture_options, check_html, check_output

NAME = "rosenbrock"
HELP = N_("exercise (b): the Rosenbrock function as a DAG with the derivative on every edge, "
          "its gradient by the chain rule, checked against the closed form")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad rosenbrock``."""
    p.add_argument("--at", default="x1=1.5,x2=2", help=_("the point, e.g. x1=1.5,x2=2"))
    add_picture_options(p, fold_flag="--constant-nodes")
    from ..explain.solutions import add_option

    add_option(p)
    p.add_argument("--pdf", metavar="PATH", default=None,
                   help=_("also print the report (the DAG, every edge's derivative, the "
                          "derivation and the checks) to this PDF (A4) with headless Chromium"))


def _point(text: str) -> dict[str, float]:
    from dagrad.expression import parse_assignments

    from . import UsageError

    at = parse_assignments(text)
    missing = [v for v in ("x1", "x2") if v not in at]
    extra = [v for v in at if v not in ("x1", "x2")]
    if missing or extra:
        parts = ([_("missing {names}").format(names=", ".join(missing))] if missing else []) + \
                ([_("unknown {names}").format(names=", ".join(extra))] if extra else [])
        raise UsageError(_("--at must give exactly x1 and x2 ({problems})").format(
            problems="; ".join(parts)))
    return at


def run(args: argparse.Namespace) -> int:
    """Print f and ∇f by backprop beside the closed form, the DAG derivation, and draw it."""
    from ..explain import rosenbrock
    from ..explain.function_dag.example import closed_form
    from .graph import can_print, write_picture

    check_output(getattr(args, "out", None))
    check_html(getattr(args, "html", None), getattr(args, "quiz", False))
    at = _point(args.at)
    if getattr(args, "solutions", "on") != "on":  # the worksheet or the key
        from .sheets import run_rosenbrock

        return run_rosenbrock(args, at)
    r = rosenbrock(at["x1"], at["x2"])
    g = r.graph
    cf, (g1, g2) = closed_form(at["x1"], at["x2"])
    by_name = {c.name: c for c in r.checks}
    print(_("Rosenbrock {f} at {point}").format(
        f="f(x1, x2) = 100(x2 - x1^2)^2 + (1 - x1)^2",
        point=f"x1={at['x1']:g}, x2={at['x2']:g}"))
    w = max(14, len(_("closed form")) + 2)
    print(f"  {'':14}{_('backprop'):>{w}}{_('closed form'):>{w}}")
    print(f"  {'f':14}{r.value:>{w}.6g}{cf:>{w}.6g}")
    print(f"  {'df/dx1':14}{r.gradient['x1']:>{w}.6g}{g1:>{w}.6g}")
    print(f"  {'df/dx2':14}{r.gradient['x2']:>{w}.6g}{g2:>{w}.6g}")
    ok = by_name["∇f at the point"].ok
    print("  " + (_("check: backprop equals the closed form") if ok else _("check: MISMATCH")))

    ops = sorted({n.op for n in g.nodes if n.op})
    print("\n" + _("The DAG: inputs x1, x2; ops {ops} only; {n} edges ({k} carry a "
                   "gradient)").format(ops=", ".join(ops), n=len(g.edges),
                                       k=sum(not e.constant for e in g.edges)))
    for line in r.lines(unicode=can_print(sys.stdout)):
        print(line)
    same = by_name["∇f as a formula"].ok
    formula = "(-400*x1*(x2 - x1**2) - 2*(1 - x1), 200*(x2 - x1**2))"
    print("  " + (_("check: the chain rule over the DAG gives the closed form {formula}")
                  if same else _("check: MISMATCH with the closed form {formula}")).format(
                      formula=formula))
    write_picture(g, args, fold=not getattr(args, "constant_nodes", False), title=r.title)
    if args.pdf:
        from ..pdf import write_page_pdf

        print(_("wrote {path}").format(path=write_page_pdf(args.pdf, r.title, r.to_html())))
    return 0 if r.ok else 1
