"""Rendering of a :class:`BatchJacobianChain`: Markdown, LaTeX, HTML and terminal text."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from ...i18n import N_, _
from ..report import (
    fmt,
    html_table,
    latex_document,
    latex_table,
    latex_text,
    markdown_table,
    text_table,
)
from .report import (
    CONSISTENCY_NOTE,
    VJP_NOTE,
    check_counts,
    check_head,
    check_rows,
    consistency_head,
    consistency_rows,
    factor_table,
    network_line,
    sources_note,
)

if TYPE_CHECKING:
    from .batch import BatchJacobianChain

__all__ = ["markdown", "latex", "html_report", "text_summary"]

MAX_ROWS = 16
TITLE = N_("Exercise (c) on a batch: per-sample Jacobian chains and the batch-mean loss")


def _explain(r: BatchJacobianChain) -> list[str]:
    n, N = r.depth, r.n
    h, d = r.spec.sizes[1], r.spec.sizes[0]
    return [
        _("Each sample n has its own chain {chain} with the sizes {sizes}, evaluated at sample "
          "n's forward values. Sample n's outputs depend only on its own input, so the "
          "Jacobians over the whole batch would be block-diagonal: the chain splits into {N} "
          "independent per-sample chains of vector–Jacobian products, and no dense Jacobian "
          "over the batch is ever built.").format(
            chain=f"∇_(x_n) L_n = J_L(z{n})[n] · J_z{n}(o{n})[n] · … · J_o1(x)[n]",
            sizes=r.example.size_expression(), N=N),
        _("Batch-mean loss {mean}: {formulas}, with {delta} from sample n's chain, Δ the {N} "
          "rows δ1_n stacked and X the {N} inputs as rows.").format(
            mean="L̄ = (1/N) Σ_n L_n",
            formulas=f"∇_(x_n) L̄ = (1/N)·∇_(x_n) L_n; ∇_b1 L̄ = (1/N) Σ_n δ1_n; ∇_W1 L̄ "
                     f"({h}×{d}) = (1/N) Σ_n δ1_nᵀ ({h}×1) · x_nᵀ (1×{d}) = (1/N)·Δᵀ ({h}×{N}) "
                     f"· X ({N}×{d})",
            delta=f"δ1_n = ∇_o1 L_n (= ∇_b1 L_n, 1×{h})", N=N),
    ]


def _sample_rows(r: BatchJacobianChain) -> list[list[str]]:
    rows = []
    xn = np.linalg.norm(r.X, axis=1)
    dn = np.linalg.norm(r.delta, axis=1)
    for i in range(min(r.n, MAX_ROWS)):
        y = int(r.labels[i])
        rows.append([str(i), f"{y} (y = {y + 1})", fmt(r.losses[i], 6), str(r.predictions[i]),
                     fmt(np.linalg.norm(r.grad_x[i]), 5), fmt(dn[i], 5),
                     fmt(dn[i] * xn[i], 5), fmt(float(np.max(np.abs(
                         r.grad_x[i] - r.backprop_grad_x[i]))), 3)])
    return rows


def _sample_head() -> list[str]:
    return ["n", _("label"), "L_n", _("pred."), "‖∇_x L_n‖", "‖∇_b1 L_n‖", "‖∇_W1 L_n‖_F",
            _("max |Δ| {grad} vs backprop").format(grad="∇_x")]


def _mean_rows(r: BatchJacobianChain) -> list[list[str]]:
    mb = r.mean_backprop
    rows = [["∇_X L̄", "×".join(map(str, r.mean_grad_x.shape)), fmt(
        np.linalg.norm(r.mean_grad_x), 6), fmt(float(np.max(np.abs(r.mean_grad_x - mb["x"]))),
                                               3)]]
    if "b1" in mb:
        rows.append(["∇_b1 L̄", str(r.mean_grad_b1.shape[0]), fmt(
            np.linalg.norm(r.mean_grad_b1), 6), fmt(float(np.max(np.abs(
                r.mean_grad_b1 - mb["b1"]))), 3)])
    rows.append(["∇_W1 L̄", "×".join(map(str, r.mean_grad_W1.shape)), fmt(
        np.linalg.norm(r.mean_grad_W1), 6), fmt(float(np.max(np.abs(
            r.mean_grad_W1 - mb["W1"]))), 3)])
    return rows


def _mean_head() -> list[str]:
    return [_("gradient of the mean loss"), _("shape"), "‖·‖", _("max |Δ| vs backprop")]


def _more(r: BatchJacobianChain) -> list[str]:
    return [_("(the first {k} of {n} samples)").format(k=MAX_ROWS, n=r.n)] \
        if r.n > MAX_ROWS else []


def _head(r: BatchJacobianChain) -> list[str]:
    return [f"{_('Network')}: {network_line(r)}.",
            _("Batch: {N} inputs, labels 0-based (the sheet's y = label + 1); {mean}.").format(
                N=f"N = {r.n}", mean=f"L̄ = {fmt(r.mean_loss, 8)}")]


def markdown(r: BatchJacobianChain, dag_path: str | None = None) -> str:
    """The batch report as Markdown."""
    out = [f"# {_(TITLE)}", ""]
    if r.description:
        out += [f"*{r.description}*", ""]
    out += [f"- {s}" for s in _head(r)] + [""]
    if dag_path:
        out += [f"![{_('the DAG of one sample’s loss')}]({dag_path})", ""]
    out += [s for p in _explain(r) for s in (p, "")]
    out += [f"## {_('One sample’s chain (sample 0, fine level)')}", "",
            f"**{r.example.expression()}**", "", "```", factor_table(r.example), "```", "",
            _(VJP_NOTE).format(n=r.depth), ""]
    out += [f"## {_('Per-sample gradients')}", "",
            markdown_table(_sample_head(), _sample_rows(r)), ""]
    out += _more(r) + ([""] if _more(r) else [])
    out += [f"## {_('Gradients of the batch-mean loss')}", "",
            markdown_table(_mean_head(), _mean_rows(r)), ""]
    out += [f"## {_('Checks')}", "", markdown_table(check_head(), check_rows(r)), "",
            f"{check_counts(r)}.", "", sources_note(), ""]
    out += [f"### {_('Consistency (not counted as checks)')}", "", _(CONSISTENCY_NOTE), "",
            markdown_table(consistency_head(), consistency_rows(r)), ""]
    return "\n".join(out)


def _tex(headers: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of plain text, spelled for LaTeX."""
    return [latex_text(h) for h in headers], [[latex_text(c) for c in row] for row in rows]


def latex(r: BatchJacobianChain) -> str:
    """The batch report as a LaTeX document (ASCII only)."""
    n = r.depth
    b = []
    if r.description:
        b.append(r"\noindent\emph{" + latex_text(r.description) + "}\n")
    b += [r"\begin{itemize}"] + [r"\item " + latex_text(s) for s in _head(r)] + \
        [r"\end{itemize}"]
    b.append(r"\[ \nabla_{x_n} L_n = J_L(z^{(" + str(n) + r")})[n] \cdot \ldots \cdot "
             r"J_{o^{(1)}}(x)[n], \qquad \bar L = \frac1N \sum_n L_n, \qquad "
             r"\nabla_{W^{(1)}} \bar L = \frac1N \sum_n \delta^{(1)\top}_n x_n^\top "
             r"= \frac1N \Delta^\top X \]")
    b += [latex_text(p) for p in _explain(r)]
    b.append(r"\section*{" + latex_text(_("Per-sample gradients")) + "}")
    b.append(latex_table(*_tex(_sample_head(), _sample_rows(r)), "rlrrrrrr",
                         size="footnotesize"))
    b += [latex_text(s) for s in _more(r)]
    b.append(r"\section*{" + latex_text(_("Gradients of the batch-mean loss")) + "}")
    b.append(latex_table(*_tex(_mean_head(), _mean_rows(r)), "lrrr", size="footnotesize"))
    b.append(r"\section*{" + latex_text(_("Checks")) + "}")
    b.append(latex_text(check_counts(r)) + ".")
    b.append(latex_table(*_tex(check_head(), check_rows(r)), "p{6cm}p{2.2cm}p{2.2cm}rrl",
                         size="footnotesize"))
    b.append(latex_text(sources_note()))
    b.append(r"\subsection*{" + latex_text(_("Consistency (not counted as checks)")) + "}")
    b.append(latex_text(_(CONSISTENCY_NOTE)))
    b.append(latex_table(*_tex(consistency_head(), consistency_rows(r)), "p{11cm}rl",
                         size="footnotesize"))
    return latex_document(_(TITLE), "\n\n".join(b))


def html_report(r: BatchJacobianChain) -> str:
    """The batch report as an HTML fragment; every piece of text is escaped."""
    e = html.escape
    h = [f"<div class='dagrad-jacobian-chain'><h3>{e(_(TITLE))}</h3>"]
    if r.description:
        h.append(f"<p><em>{e(r.description)}</em></p>")
    h.append("<ul>" + "".join(f"<li>{e(s)}</li>" for s in _head(r)) + "</ul>")
    h += [f"<p>{e(p)}</p>" for p in _explain(r)]
    h.append(f"<h4>{e(_('Per-sample gradients'))}</h4>"
             + html_table(_sample_head(), _sample_rows(r)))
    h += [f"<p>{e(s)}</p>" for s in _more(r)]
    h.append(f"<h4>{e(_('Gradients of the batch-mean loss'))}</h4>"
             + html_table(_mean_head(), _mean_rows(r)))
    h.append(f"<h4>{e(check_counts(r))}</h4>")
    h.append(html_table(check_head(), check_rows(r)))
    h.append(f"<p>{e(sources_note())}</p>")
    h.append(f"<h4>{e(_('Consistency (not counted as checks)'))}</h4>"
             f"<p>{e(_(CONSISTENCY_NOTE))}</p>")
    h.append(html_table(consistency_head(), consistency_rows(r)) + "</div>")
    return "\n".join(h)


def text_summary(r: BatchJacobianChain) -> str:
    """Per-sample table, mean-loss gradients and checks as plain text."""
    out = [_(TITLE)] + ([r.description] if r.description else []) + _head(r) + [""]
    out += [f"{_('per-sample chain:')} {r.example.expression()}",
            f"  {_('sizes:')} {r.example.size_expression()}", ""]
    out += [text_table(_sample_head(), _sample_rows(r))] + _more(r) + [""]
    out += [text_table(_mean_head(), _mean_rows(r)), ""]
    out.append(check_counts(r))
    out += [f"  {c[-1]} {c[0]}: {c[3]}   [" + _("{subject} vs {oracle}").format(
        subject=c[1], oracle=c[2]) + "]" for c in check_rows(r)]
    out.append(_("consistency (not counted as checks):"))
    out += [f"  {c[-1]} {c[0]}: {c[1]}" for c in consistency_rows(r)]
    return "\n".join(out)
