"""Tour part (b): the Rosenbrock function as a DAG of +, −, × and powers, ∇f by the chain rule."""

from __future__ import annotations

import html
from pathlib import Path

from ..atomic import atomic_write
from ..i18n import _
from .report import Check, Section, title

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
    g.to_html(d / "stepper.html", constants="fold",
              title=_("Rosenbrock: step through backprop"))
    _value, (c1, c2) = closed_form(X1, X2)
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
        _("DAG: {inputs} inputs and {operations} operations ({ops}: only +, −, × and natural "
          "powers), {edges} edges, each labelled with its local derivative").format(
            inputs=sum(n.kind == "leaf" for n in g.nodes),
            operations=sum(n.kind == "op" for n in g.nodes), ops=", ".join(ops),
            edges=len(r.edge_rows())),
        _("{value}; {gradient} by backprop, closed form {closed}").format(
            value=f"f(1.5, 2) = {r.value:g}", gradient=f"∇f = ({grad1:g}, {grad2:g})",
            closed=f"({c1:g}, {c2:g})") + " " + ("✓" if num_ok else _("MISMATCH")),
        _("chain rule, symbolically: {formulas}").format(
            formulas=f"∂f/∂x1 = {sym[0]}, ∂f/∂x2 = {sym[1]}") + " "
        + (_("(equals the closed form ✓)") if sym_ok else _("(MISMATCH with the closed form)")),
    ]
    edges = "".join(
        f"<tr><td>{html.escape(edge)}</td><td>{html.escape(name)} = {html.escape(formula)}</td>"
        f"<td>{html.escape(value)}</td></tr>" for edge, name, formula, value in r.edge_rows())
    e = html.escape
    page = (f'<p><img src="b/rosenbrock.svg" alt="{e(_("the Rosenbrock DAG"))}"></p>'
            f'<p><a href="b/stepper.html">'
            f'{e(_("Step through the forward and backward passes (interactive page)"))}</a></p>'
            f"<h3>{e(_('Every edge’s local derivative'))}</h3><table><thead><tr>"
            f"<th>{e(_('edge'))}</th><th>{e(_('local derivative'))}</th>"
            f"<th>{e(_('value at {point}').format(point='(1.5, 2)'))}</th></tr></thead>{edges}"
            f"</table><h3>{e(_('Reverse pass, node by node'))}</h3><pre>{e(derivation)}</pre>")
    md = ("\n".join(f"- {s}" for s in summary)
          + f"\n\n![{_('the Rosenbrock DAG')}](b/rosenbrock.png)\n\n"
          "```text\n" + derivation + "\n```\n")
    closed = _("the closed form {gradient} derived by hand").format(
        gradient="∇f = (−400·x1·(x2 − x1²) − 2(1 − x1), 200(x2 − x1²))")
    checks = [
        Check(_("∇f at {point}").format(point="(1.5, 2)"),
              _("dagrad reverse mode over the traced DAG"), closed + _(", in floats"),
              num_ok, _("{ours} vs {closed}, |difference| < 1e-9").format(
                  ours=f"({grad1:g}, {grad2:g})", closed=f"({c1:g}, {c2:g})"),
              kind=_("a closed form")),
        Check(_("∇f as a formula"), _("the chain rule over the DAG from the ops' "
                                      "local-derivative formulas (Graph.gradient_formula)"),
              closed + _("; SymPy simplifies the difference"),
              sym_ok, _("difference = 0") if sym_ok else _("difference ≠ 0"),
              kind=_("a closed form (SymPy)")),
    ]
    return Section("b", title("b"), summary, page, md,
                   ["b/rosenbrock.svg", "b/rosenbrock.png", "b/stepper.html",
                    "b/derivation.tex", "b/derivation.txt"], num_ok and sym_ok, checks=checks)
