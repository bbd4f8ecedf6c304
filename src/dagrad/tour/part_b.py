"""Tour part (b): the Rosenbrock function as a DAG of +, −, × and powers, ∇f by the chain rule."""

from __future__ import annotations

import html
from pathlib import Path

from ..atomic import atomic_write
from .report import PARTS, Check, Section

X1, X2 = 1.5, 2.0


def run(out: Path) -> Section:
    """Explain f at (1.5, 2) with ``dg.explain.rosenbrock``, draw it, write the stepper page."""
    from ..explain import rosenbrock
    from ..explain.function_dag.example import closed_form

    d = out / "b"
    d.mkdir(parents=True, exist_ok=True)
    r = rosenbrock(X1, X2)
    g = r.graph
    g.render(d / "rosenbrock.svg", constants="fold")
    g.render(d / "rosenbrock.png", constants="fold")
    g.to_html(d / "stepper.html", constants="fold", title="Rosenbrock: step through backprop")
    _, (c1, c2) = closed_form(X1, X2)
    grad1, grad2 = r.gradient["x1"], r.gradient["x2"]
    by_name = {c.name: c for c in r.checks}
    num_ok, sym_ok = by_name["∇f at the point"].ok, by_name["∇f as a formula"].ok
    sym = [r.formulas["x1"], r.formulas["x2"]]
    ops = sorted({n.op for n in g.nodes if n.op})
    derivation = g.derivation()
    with atomic_write(d / "derivation.tex", "w") as fh:
        fh.write(g.to_latex())
    with atomic_write(d / "derivation.txt", "w") as fh:
        fh.write(derivation + "\n")
    summary = [
        f"DAG: {sum(n.kind == 'leaf' for n in g.nodes)} inputs and "
        f"{sum(n.kind == 'op' for n in g.nodes)} operations ({', '.join(ops)}: only +, −, × "
        f"and natural powers), {len(r.edge_rows())} edges, each labelled with its local "
        "derivative",
        f"f(1.5, 2) = {r.value:g}; ∇f = ({grad1:g}, {grad2:g}) by backprop, closed form "
        f"({c1:g}, {c2:g}) " + ("✓" if num_ok else "MISMATCH"),
        f"chain rule, symbolically: ∂f/∂x1 = {sym[0]}, ∂f/∂x2 = {sym[1]} "
        + ("(equals the closed form ✓)" if sym_ok else "(MISMATCH with the closed form)"),
    ]
    edges = "".join(
        f"<tr><td>{html.escape(edge)}</td><td>{html.escape(name)} = {html.escape(formula)}</td>"
        f"<td>{html.escape(value)}</td></tr>" for edge, name, formula, value in r.edge_rows())
    page = ('<p><img src="b/rosenbrock.svg" alt="the Rosenbrock DAG"></p>'
            '<p><a href="b/stepper.html">Step through the forward and backward passes '
            "(interactive page)</a></p>"
            "<h3>Every edge's local derivative</h3><table><thead><tr><th>edge</th>"
            f"<th>local derivative</th><th>value at (1.5, 2)</th></tr></thead>{edges}</table>"
            f"<h3>Reverse pass, node by node</h3><pre>{html.escape(derivation)}</pre>")
    md = ("\n".join(f"- {s}" for s in summary) + "\n\n![Rosenbrock DAG](b/rosenbrock.png)\n\n"
          "```text\n" + derivation + "\n```\n")
    closed = "the closed form ∇f = (−400·x1·(x2 − x1²) − 2(1 − x1), 200(x2 − x1²)) derived by hand"
    checks = [
        Check("∇f at (1.5, 2)", "dagrad reverse mode over the traced DAG", closed + ", in floats",
              num_ok, f"({grad1:g}, {grad2:g}) vs ({c1:g}, {c2:g}), |difference| < 1e-9",
              kind="a closed form"),
        Check("∇f as a formula", "the chain rule over the DAG from the ops' local-derivative "
              "formulas (Graph.gradient_formula)", closed + "; SymPy simplifies the difference",
              sym_ok, "difference = 0" if sym_ok else "difference ≠ 0",
              kind="a closed form (SymPy)"),
    ]
    return Section("b", PARTS["b"][1], summary, page, md,
                   ["b/rosenbrock.svg", "b/rosenbrock.png", "b/stepper.html",
                    "b/derivation.tex", "b/derivation.txt"], num_ok and sym_ok, checks=checks)
