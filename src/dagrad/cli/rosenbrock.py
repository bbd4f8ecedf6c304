"""dagrad rosenbrock: exercise (b) — f(x) = 100(x2 − x1²)² + (1 − x1)² by backprop."""

from __future__ import annotations

import argparse

NAME = "rosenbrock"
HELP = "exercise (b): the Rosenbrock function's value and gradient by backprop vs closed form"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad rosenbrock``."""
    p.add_argument("--at", default="x1=1.5,x2=2", help="the point, e.g. x1=1.5,x2=2")
    p.add_argument("-o", "--out", help="write the DAG picture here (.svg, .png or .pdf)")


def closed_form(x1: float, x2: float) -> tuple[float, tuple[float, float]]:
    """f and ∇f = (−400·x1·(x2 − x1²) − 2(1 − x1), 200(x2 − x1²)) written out by hand."""
    f = 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2
    return f, (-400 * x1 * (x2 - x1**2) - 2 * (1 - x1), 200 * (x2 - x1**2))


def run(args: argparse.Namespace) -> int:
    """Print f and ∇f at the point by backprop beside the closed form."""
    import dagrad as dg
    from dagrad.graph.expression import parse_assignments

    at = parse_assignments(args.at)
    if set(at) != {"x1", "x2"}:
        raise ValueError(f"--at must give exactly x1 and x2, got {', '.join(at) or 'nothing'}")
    x1 = dg.tensor(at["x1"], dtype="float64", requires_grad=True, name="x1")
    x2 = dg.tensor(at["x2"], dtype="float64", requires_grad=True, name="x2")
    f = 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2
    f.backward()
    cf, (g1, g2) = closed_form(at["x1"], at["x2"])
    print(f"Rosenbrock f(x1, x2) = 100(x2 - x1^2)^2 + (1 - x1)^2 at x1={at['x1']:g}, "
          f"x2={at['x2']:g}")
    print(f"  {'':14}{'backprop':>14}{'closed form':>14}")
    print(f"  {'f':14}{f.item():>14.6g}{cf:>14.6g}")
    print(f"  {'df/dx1':14}{x1.grad.item():>14.6g}{g1:>14.6g}")
    print(f"  {'df/dx2':14}{x2.grad.item():>14.6g}{g2:>14.6g}")
    ok = abs(x1.grad.item() - g1) <= 1e-9 * max(1, abs(g1)) and \
        abs(x2.grad.item() - g2) <= 1e-9 * max(1, abs(g2))
    print("  check: " + ("backprop equals the closed form" if ok else "MISMATCH"))
    return 0 if ok else 1
