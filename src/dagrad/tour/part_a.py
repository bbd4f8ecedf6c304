"""Tour part (a): vanishing gradients in h_i = σ(w_i h_{i−1}) and in a real deep MLP."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_write
from ..i18n import _
from .report import Check, Section, title

DEPTH = 20
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "x / (1 + abs(x))")

if TYPE_CHECKING:
    from ..explain.vanishing_chain.flow import GradientFlowReport
    from ..explain.vanishing_chain.scalar_chain import VanishingReport


def run(out: Path) -> Section:
    """Chain of depth 20 for five activations, its plot, and the gradient flow of a deep MLP."""
    from ..explain import gradient_flow, vanishing

    d = out / "a"
    d.mkdir(parents=True, exist_ok=True)
    rep = vanishing(DEPTH, ACTIVATIONS, seed=0)
    rep.plot(d / "vanishing.svg")
    rep.plot(d / "vanishing.png")
    flow = gradient_flow(depth=10, activations=("tanh",), inits=("standard", "xavier"),
                         batch=64, steps=20, seed=0)
    flow.plot(d / "flow.png")
    with atomic_write(d / "vanishing.md", "w") as f:
        f.write(rep.to_markdown() + "\n" + flow.to_markdown())
    with atomic_write(d / "vanishing.tex", "w") as f:
        f.write(rep.to_latex())
    summary = []
    for label in rep.activations:
        r = rep[label]
        first = r.log10_abs[0]
        size = f"log10|∂h_{DEPTH}/∂w_1| = {first:.1f}" if first > -float("inf") else \
            f"∂h_{DEPTH}/∂w_1 = 0"
        summary.append(f"σ = {label}: {size}; {r.summary()[0]}")
        if r.bound_holds is False:
            summary.append(f"σ = {label}: " + _("BOUND VIOLATED"))
    summary += flow.verdict()
    # the bound and Glorot & Bengio's observation are expectations, not checks of dagrad
    checks = chain_checks(rep)
    ok = all(c.passed for c in checks) and \
        all(r.bound_holds is not False for r in rep.results.values()) and \
        _as_glorot_and_bengio(flow)
    e = html.escape
    page = (f'<p><img src="a/vanishing.svg" alt="{e(_("log10 |dh_n/dw_i| against i"))}"></p>'
            f'<p><img src="a/flow.png" alt="{e(_("gradient norms per layer"))}"></p>'
            f"<details><summary>{e(_('every layer’s numbers, the derivation and the bounds'))}"
            "</summary>" + rep._repr_html_() + flow._repr_html_() + "</details>")
    md = (rep.to_markdown() + f"\n![{_('vanishing gradients')}](a/vanishing.png)\n\n"
          + flow.to_markdown() + f"\n![{_('gradient flow')}](a/flow.png)\n")
    return Section("a", title("a"), [html.unescape(s) for s in summary], page, md,
                   ["a/vanishing.svg", "a/vanishing.png", "a/flow.png", "a/vanishing.md",
                    "a/vanishing.tex"], ok, checks=checks)


def _as_glorot_and_bengio(flow: GradientFlowReport) -> bool:
    """Glorot & Bengio's observation, read from the numbers (not the verdict's words): with the
    standard init the back-propagated norm shrinks toward the input, and more than with xavier."""
    for d, a in {(c.depth, c.activation) for c in flow.cases}:
        try:
            s, x = flow.case(d, a, "standard"), flow.case(d, a, "xavier")
        except KeyError:
            continue
        rs, rx = s.ratio("backprop"), x.ratio("backprop")
        if not (rs < 1 and rs < rx):
            return False
    return True


def chain_checks(rep: VanishingReport) -> list[Check]:
    """One independent check per activation: autodiff's ∂h_n/∂w_i at every layer vs the closed
    form with σ' written by hand (named σ) or differentiated by SymPy (an expression)."""
    out = []
    for label, r in rep.results.items():
        by_sympy = r.activation.sym is not None and r.activation.kind == "expression"
        how = (_("SymPy's derivative of the typed expression") if by_sympy else
               _("σ' written by hand"))
        if r.activation.sym is not None and r.activation.kind != "expression":
            how += " " + _("(SymPy shows {label} = {kind})").format(label=label,
                                                                   kind=r.activation.kind)
        flags = {f: r.flags.count(f) for f in dict.fromkeys(r.flags)}
        detail = ", ".join(f"{k} {f}" for f, k in flags.items())
        if "ok" in flags:
            detail += "; " + _("max relative difference {d}").format(d=f"{r.max_rel_error:.1e}")
        out.append(Check(
            _("σ = {label}: {d} for i = 1..{n}").format(label=label, d=f"∂h_{rep.n}/∂w_i",
                                                       n=rep.n),
            _("dagrad reverse mode, one backward pass over the recorded float64 chain"),
            _("closed form {formula} in NumPy, {how}").format(
                formula="h_(i-1)·σ'(u_i)·∏_(k>i) w_k·σ'(u_k)", how=how),
            r.failed_layers.size == 0, detail,
            kind=_("a closed form with SymPy's σ'") if by_sympy else _("a closed form")))
    return out
