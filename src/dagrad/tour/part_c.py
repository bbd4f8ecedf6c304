"""Tour part (c): the sheet's MLP on a real digit — ∇x L and ∇b1 L as products of Jacobians."""

from __future__ import annotations

import html
from pathlib import Path

from ..atomic import atomic_write
from ..i18n import _, get_language
from .report import Check, Section, title

SIZES = [784, 256, 256, 10]


def run(out: Path) -> Section:
    """Jacobian chains with sizes for digit 0 of the test split, dense bonus included; the
    section lists the report's independent checks (the consistency facts are not counted)."""
    import numpy as np

    import dagrad as dg

    d = out / "c"
    d.mkdir(parents=True, exist_ok=True)
    X, y = dg.data.load_sample("test")
    x, label = X[0].reshape(-1).astype(np.float64) / 255, int(y[0])
    model = dg.nn.MLP(SIZES, activation="tanh", output="softmax", seed=0)
    rep = dg.explain.jacobian_chain(
        model, x, label, dense=True,
        description=_("Digit #0 of the embedded MNIST sample's test split (pixels / 255); the "
                      "sheet's MLP 784-256-256-10 (tanh, tanh, softmax) at initialisation "
                      "(PyTorch's default init, seed 0)."))
    rep.render_dag(str(d / "dag.svg"))
    rep.render_dag(str(d / "dag-fine.svg"), level="fine")
    from ..web.page import html_page

    for name, text in (("report.md", rep.to_markdown(dag_path="dag.svg")),
                       ("report.tex", rep.to_latex()),
                       ("report.html", html_page(title("c"), rep.to_html(),
                                                 lang=get_language()))):
        with atomic_write(d / name, "w") as fh:
            fh.write(text)
    summary = []
    for target in ("x", "b1"):
        summary.append(rep.chain(target, "layer").display().text())
    from ..explain.mlp_jacobians.factors import check_name, source
    from ..explain.mlp_jacobians.report import check_counts, oracle_breakdown
    from ..explain.report import fmt

    summary.append(_("{counts}; the checks, by what they compare: {breakdown}").format(
        counts=check_counts(rep), breakdown=oracle_breakdown(rep)))
    summary.append(_("bonus: {formula}").format(
        formula=f"{rep.weight.products['vec'].text()} = "
                f"{' ⊗ '.join(f.text() for f in rep.weight.products['kron'].factors)}, "
                "J_o1(W1) = I_256 ⊗ xᵀ"))
    checks = [Check(check_name(c), source(c.subject), source(c.oracle), c.ok,
                    f"{fmt(c.value, 3)} ≤ {fmt(c.tol, 2)}" if c.tol is not None else "",
                    kind=_(c.oracle)) for c in rep.independent_checks]
    page = ('<p><img src="c/dag.svg" alt="x → z1 → z2 → z3 → L with y"></p>'
            "<details open><summary>"
            + html.escape(_("every Jacobian with its formula and size, the products and the "
                            "checks")) + "</summary>" + rep.to_html() + "</details>")
    return Section("c", title("c"), summary, page, rep.to_markdown(dag_path="c/dag.svg"),
                   ["c/dag.svg", "c/dag-fine.svg", "c/report.md", "c/report.tex",
                    "c/report.html"], rep.ok, checks=checks)
