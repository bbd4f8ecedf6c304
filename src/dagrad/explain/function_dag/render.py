"""A :class:`DagGradientReport` as terminal lines, text, Markdown, LaTeX and HTML."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ...i18n import N_, _
from ..report import html_table, latex_document, latex_table, latex_text, markdown_table

if TYPE_CHECKING:
    from .explainer import DagGradientReport

__all__ = ["report_lines", "text_summary", "markdown", "latex", "html_report"]

EDGE_HEAD = [N_("edge"), N_("local derivative"), N_("formula"), N_("value")]
CHECK_HEAD = [N_("check"), N_("computed by"), N_("compared with"), N_("result")]
FORMULAS_CHECK = "formulas at the point"
EDGES = N_("Every edge's local derivative")


def _head(words: list[str]) -> list[str]:
    """A table head in the current language."""
    return [_(w) for w in words]


def _title(r: DagGradientReport) -> str:
    """The title in the current language (the default one and the catalog's titles)."""
    if r.title == f"The DAG of {r.output}":
        return _("The DAG of {f}").format(f=r.output)
    return _(r.title)


def _d(unicode: bool):
    return (lambda a, b: f"∂{a}/∂{b}") if unicode else (lambda a, b: f"d{a}/d{b}")


def _formula_lines(r: DagGradientReport, unicode: bool) -> list[str]:
    d, out = _d(unicode), r.output
    body, notes = [], []
    for x in r.graph.leaves:
        if x.name in r.refused:
            body.append("  " + _("{d}: not derived symbolically: {why}").format(
                d=d(out, x.name), why=r.refused[x.name]))
            continue
        body.append(f"  {d(out, x.name)} = {r.formulas[x.name]}")
        if x.name in r.notes:
            notes.append(f"  {d(out, x.name)}: {r.notes[x.name]}")
    how = _("some not simplified (see below)") if notes else _("simplified")
    ok = all(c.ok for c in r.checks if c.name == FORMULAS_CHECK)
    return ["", _("Symbolic gradient (sum over the paths of the product of the edge formulas, "
                  "{how}):").format(how=how), *body, *notes,
            "  " + _("check: {result}").format(
                result=_("the formulas at this point equal backprop") if ok
                else _("MISMATCH between the formulas and backprop"))]


def report_lines(r: DagGradientReport, *, unicode: bool = True, latex: bool = False) -> list[str]:
    """Value, gradient, the derivation (text or LaTeX) and the symbolic gradient, as lines."""
    from ...dag.symbolic import fmt_number

    g, out, d = r.graph, r.output, _d(unicode)
    value, gradient = _("value:"), _("gradient:")
    width = max(len(value), len(gradient)) + 1
    lines = [value.ljust(width) + f"{out} = {fmt_number(g.output.value)}",
             gradient.ljust(width) + ", ".join(f"{d(out, x.name)} = {fmt_number(x.grad)}"
                                               for x in g.leaves), ""]
    lines += (g.to_latex() if latex else g.derivation(unicode=unicode)).splitlines()
    if r.symbolic:
        lines += _formula_lines(r, unicode)
    return lines


def _check_rows(r: DagGradientReport) -> list[list[str]]:
    rows = []
    for c in r.checks:
        name, ours, oracle, detail = c.localized()
        rows.append([name, ours, oracle, ("✓ " if c.ok else "✗ ") + detail])
    return rows


def _status(r: DagGradientReport) -> str:
    n = len(r.checks)
    return _("checks: {k} of {n} pass").format(k=sum(c.ok for c in r.checks), n=n) if n \
        else _("no checks")


def text_summary(r: DagGradientReport) -> str:
    """The report as plain text: title, the lines of :func:`report_lines` and the checks."""
    lines = [_title(r), *report_lines(r), "", _status(r)]
    for c in r.checks:
        name, _ours, _oracle, detail = c.localized()
        lines.append(f"  {'ok  ' if c.ok else _('FAIL')} {name}: {detail}")
    return "\n".join(lines)


def _gradient_row(r: DagGradientReport) -> str:
    return ", ".join(f"∂{r.output}/∂{x} = {v:g}" for x, v in r.gradient.items())


def markdown(r: DagGradientReport, dag_path: str | None = None) -> str:
    """The report as Markdown (``dag_path``: a picture of the DAG to show)."""
    md = [f"### {_title(r)}", "", f"- {r.output} = {r.value:g}; " + _(
          "∇{f} by backprop: {gradient}").format(f=r.output, gradient=_gradient_row(r)),
          f"- {_status(r)}", ""]
    if dag_path:
        md += [f"![{_('the DAG')}]({dag_path})", ""]
    md += [_(EDGES) + ":", "",
           markdown_table(_head(EDGE_HEAD), r.edge_rows()), "",
           "```text", r.graph.derivation(), "```", ""]
    if r.formulas:
        md += [_("∂f/∂x by the chain rule (sum over paths of the product of the edge "
                 "formulas):"), ""]
        md += [f"- `∂{r.output}/∂{x} = {f}`" for x, f in r.formulas.items()] + [""]
    if r.checks:
        md += [markdown_table(_head(CHECK_HEAD), _check_rows(r)), ""]
    return "\n".join(md)


def latex(r: DagGradientReport) -> str:
    """The report as a complete LaTeX document (pdflatex)."""
    body = [latex_text(f"{r.output} = {r.value:g}; " + _("gradient by backprop:") + " ")
            + ", ".join(rf"$\partial {r.output}/\partial {x} = {v:g}$"
                        for x, v in r.gradient.items()), "",
            latex_table([latex_text(_("edge")), latex_text(_("formula")),
                         latex_text(_("value"))],
                        [[latex_text(a), latex_text(f), latex_text(v)]
                         for a, _, f, v in r.edge_rows()], "llr", size="small"), "",
            r.graph.to_latex()]
    if r.formulas:
        import sympy

        body.append(r"\begin{align*}")
        body += [rf"\frac{{\partial {r.output}}}{{\partial {x}}} &= {sympy.latex(f)}\\"
                 for x, f in r.formulas.items()]
        body.append(r"\end{align*}")
    for c in r.checks:
        name, _ours, _oracle, detail = c.localized()
        verdict = _("pass") if c.ok else _("FAIL")
        body.append(latex_text(f"{name}: {verdict} ({detail})") + r"\\")
    return latex_document(_title(r), "\n".join(body))


def _svg(r: DagGradientReport) -> str:
    try:
        from ..picture import svg

        return svg(r.dag_dot())
    except Exception:  # noqa: BLE001 - no graphviz here: the tables stand alone
        return ""


def _formula_html(output: str, x: str, formula) -> str:
    """∂output/∂x = formula, typeset by KaTeX (SymPy's LaTeX; names as SymPy spells them)."""
    import sympy

    from ...web.texmath import tex

    if formula is None:  # refused as too deep: the report says why elsewhere
        return html.escape(_("∂{f}/∂{x}: not derived symbolically").format(f=output, x=x))
    d = lambda name: sympy.latex(sympy.Symbol(name))
    return tex(rf"\frac{{\partial {d(output)}}}{{\partial {d(x)}}} = {sympy.latex(formula)}")


def html_report(r: DagGradientReport) -> str:
    """The report as an HTML fragment for Jupyter; every piece of text is escaped."""
    e = html.escape
    gradient = _("∇{f} by backprop: {gradient}").format(f=r.output, gradient=_gradient_row(r))
    h = [f"<div class='dagrad-function-dag'><h3>{e(_title(r))}</h3>",
         f"<p>{e(r.output)} = {e(f'{r.value:g}')}; {e(gradient)}; {e(_status(r))}</p>",
         _svg(r), f"<h4>{e(_(EDGES), quote=False)}</h4>",
         html_table(_head(EDGE_HEAD), r.edge_rows()),
         f"<h4>{e(_('Reverse pass, node by node'))}</h4><pre>{e(r.graph.derivation())}</pre>"]
    if r.formulas:
        h.append("<ul>" + "".join(f"<li>{_formula_html(r.output, x, f)}</li>"
                                  for x, f in r.formulas.items()) + "</ul>")
    if r.checks:
        h.append(html_table(_head(CHECK_HEAD), _check_rows(r)))
    return "".join(h) + "</div>"

