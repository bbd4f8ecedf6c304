"""Tour part (a): vanishing gradients in h_i = σ(w_i h_{i−1}) and in a real deep MLP."""

from __future__ import annotations

import html
from pathlib import Path

from ..atomic import atomic_write
from .report import PARTS, Section

DEPTH = 20
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "x / (1 + abs(x))")


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
    ok = True
    for label in rep.activations:
        r = rep[label]
        first = r.log10_abs[0]
        size = f"log10|∂h_{DEPTH}/∂w_1| = {first:.1f}" if first > -float("inf") else \
            f"∂h_{DEPTH}/∂w_1 = 0"
        summary.append(f"σ = {label}: {size}; {r.summary()[0]}")
        ok = ok and "MISMATCH" not in " ".join(r.summary()) and r.bound_holds is not False
    summary += flow.verdict()
    ok = ok and all("NOT as" not in v for v in flow.verdict())
    page = ('<p><img src="a/vanishing.svg" alt="log10 |dh_n/dw_i| against i"></p>'
            '<p><img src="a/flow.png" alt="gradient norms per layer"></p>'
            "<details><summary>every layer's numbers, the derivation and the bounds</summary>"
            + rep._repr_html_() + flow._repr_html_() + "</details>")
    md = (rep.to_markdown() + "\n![vanishing](a/vanishing.png)\n\n" + flow.to_markdown()
          + "\n![gradient flow](a/flow.png)\n")
    return Section("a", PARTS["a"][1], [html.unescape(s) for s in summary], page, md,
                   ["a/vanishing.svg", "a/vanishing.png", "a/flow.png", "a/vanishing.md",
                    "a/vanishing.tex"], ok)
