"""The derivation behind :func:`dagrad.explain.vanishing` (exercise a) as text, Markdown, LaTeX.

The Markdown version (paragraphs, ``**bold**``, ``*italic*``, ``$…$`` and ``$$…$$`` math) is also
the source of the LaTeX version (:func:`markdown_to_latex`), so the two never drift apart.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ...i18n import N_, _
from .. import report as rp

__all__ = ["derivation_text", "derivation_markdown", "markdown_to_latex", "answer_text"]

#: The plain-text derivation: prose (msgids, translated when written) and formula lines (shared).
_TEXT: tuple[str | tuple[str], ...] = (
    N_("Derivation (exercise a)"),
    "",
    N_("1. Chain rule. h_n depends on w_i only through h_i = σ(w_i h_(i-1)), so"),
    ("     ∂h_n/∂w_i = (∏_(k=i+1..n) ∂h_k/∂h_(k-1)) · ∂h_i/∂w_i,",),
    N_("   with ∂h_k/∂h_(k-1) = σ'(w_k h_(k-1))·w_k and ∂h_i/∂w_i = σ'(w_i h_(i-1))·h_(i-1):"),
    ("     ∂h_n/∂w_i = h_(i-1)·σ'(w_i h_(i-1)) · ∏_(k=i+1..n) w_k·σ'(w_k h_(k-1))",),
    N_("   (the empty product is 1 for i = n)."),
    "",
    N_("2. Sigmoid. σ' = σ(1 − σ) = s(1 − s) with s ∈ (0, 1) is at most 1/4, attained only at "
       "u = 0.\n   With |w_k| < 1:"),
    ("     |∂h_n/∂w_i| ≤ |h_(i-1)|·(1/4)^(n-i+1)·∏_(k>i)|w_k| ≤ |h_(i-1)|·(1/4)^(n-i+1) ≤ "
     "(1/4)^(n-i+1)",),
    N_("   (the last step for i ≥ 2, where h_(i-1) = σ(·) ∈ (0, 1); for i = 1 it is |x|·4^(-n)).\n"
       "   Answer to question 2: the largest possible slope of w_i decays like 4^-(n-i+1) —\n"
       "   exponentially in the distance from the output; every layer above w_i costs at least a\n"
       "   factor 4. For n = @N@: at most |h_(n-1)|/4 for w_n, but at most |x|·4^-@N@ = |x|·@B1@ "
       "for w_1.\n"
       "   Where is the bound approached? For i = n it is |h_(n-1)|·σ'(w_n h_(n-1)) ≤ "
       "|h_(n-1)|/4, and\n"
       "   the ratio → 1 as w_n → 0 (σ'(0) = 1/4, h_(n-1) is free). For i < n it is not "
       "attained:\n"
       "   each factor |w_k|·σ'(w_k h_(k-1)) would need |w_k| → 1 and w_k h_(k-1) → 0 at the "
       "same\n"
       "   time, i.e. h_(k-1) → 0, which a sigmoid output cannot be (σ'(u_i) = 1/4 forces "
       "h_i = 1/2,\n"
       "   and then |w_(i+1)|·σ'(w_(i+1)/2) ≤ σ'(1/2) ≈ 0.235 < 1/4). The bound uses |w_k| < 1 "
       "and\n"
       "   σ' ≤ 1/4, which cannot both be tight: the supremum of |∂h_n/∂w_i| / bound is ≈ 0.943 "
       "for\n"
       "   i = n − 1 and shrinks further down (sigmoid outputs stay above ≈ 0.40 when |w| < 1, "
       "so\n"
       "   each extra layer costs at least a factor ≈ 0.96) — the true rate is ≈ 0.24^(n-i) "
       "instead\n"
       "   of 0.25^(n-i), still exponential."),
    "",
    N_("3. tanh. tanh' = 1 − tanh² ≤ 1 (= 1 at 0), so |∂h_n/∂w_i| ≤ |h_(i-1)|·∏_(k>i)|w_k|: "
       "the\n"
       "   activation forces no decay; only the weights do (|w_k| < 1), and |h_k| ≤ "
       "|w_k|·|h_(k-1)|."),
    "",
    N_("4. ReLU. relu'(u) ∈ {0, 1} (0 for u ≤ 0, as PyTorch). On an active chain (every "
       "u_k > 0)"),
    ("     |∂h_n/∂w_i| = |h_(i-1)|·∏_(k>i)|w_k| = |x|·∏_(k≠i)|w_k|   ",),
    N_("exactly,"),
    N_("   so the activation contributes no factor below 1: the largest slope is below |x| for "
       "every\n"
       "   i (→ |x| as all w_k → 1), with no exponential decay in n − i; only ∏|w_k| shrinks it. "
       "But a\n"
       "   single pre-activation u_k = w_k h_(k-1) ≤ 0 makes h_k = 0, hence h_n = 0 and every\n"
       "   ∂h_n/∂w_i = 0 exactly: a dead chain. Leaky ReLU (slope α): σ' ∈ {α, 1}, each "
       "inactive\n"
       "   layer costs a factor α, but the gradient never becomes exactly 0."),
    "",
    N_("5. Floating point. float64 underflows below ≈ 2.2e-308 (subnormals down to 4.9e-324): "
       "a\n"
       "   sigmoid chain's gradient 4^-(n-i+1) gets there about 510 layers below the output. "
       "Such\n"
       "   gradients are exactly 0 in float64 and are reported as \"underflow\", with the "
       "magnitude\n"
       "   from the closed form evaluated in log space."),
)

#: The Markdown derivation: prose paragraphs (msgids) and display formulas (shared).
_MARKDOWN: tuple[str | tuple[str], ...] = (
    N_("## Derivation"),
    N_("**1. Chain rule.** $h_n$ depends on $w_i$ only through $h_i = \\sigma(w_i h_{i-1})$, so"),
    (r"""$$\frac{\partial h_n}{\partial w_i}
  = \Big(\prod_{k=i+1}^{n} \frac{\partial h_k}{\partial h_{k-1}}\Big)\,
    \frac{\partial h_i}{\partial w_i}, \qquad
  \frac{\partial h_k}{\partial h_{k-1}} = \sigma'(w_k h_{k-1})\,w_k, \qquad
  \frac{\partial h_i}{\partial w_i} = \sigma'(w_i h_{i-1})\,h_{i-1},$$""",),
    (r"""$$\frac{\partial h_n}{\partial w_i}
  = h_{i-1}\,\sigma'(w_i h_{i-1}) \prod_{k=i+1}^{n} w_k\,\sigma'(w_k h_{k-1})
  \qquad (\text{""",),
    N_("empty product"),
    (r"} = 1 \text{ ",),
    N_("for"),
    (r""" } i = n).$$""",),
    N_("**2. Sigmoid.** $\\sigma' = \\sigma(1-\\sigma) = s(1-s) \\le \\tfrac14$ for "
       "$s \\in (0,1)$, with\nequality only at $u = 0$. With $|w_k| < 1$:"),
    (r"""$$\Big|\frac{\partial h_n}{\partial w_i}\Big|
  \le |h_{i-1}|\,\Big(\tfrac14\Big)^{n-i+1} \prod_{k>i} |w_k|
  \le |h_{i-1}|\,\Big(\tfrac14\Big)^{n-i+1}
  \le \Big(\tfrac14\Big)^{n-i+1}
  \quad (i \ge 2,\ h_{i-1} = \sigma(\cdot) \in (0,1)).$$""",),
    N_("**Answer to question 2:** the largest possible slope of $w_i$ decays like "
       "$4^{-(n-i+1)}$ —\nexponentially in the distance from the output; every layer above $w_i$ "
       "costs at least a\nfactor 4. For $n = @N@$: at most $|h_{n-1}|/4$ for $w_n$, but at most\n"
       "$|x|\\,4^{-@N@} = |x|\\cdot @B1@$ for $w_1$."),
    N_("*Where is the bound approached?* For $i = n$ it reads\n"
       "$|h_{n-1}|\\,\\sigma'(w_n h_{n-1}) \\le |h_{n-1}|/4$, and the ratio tends to 1 as "
       "$w_n \\to 0$\n"
       "($\\sigma'(0) = \\tfrac14$, $h_{n-1}$ is free). For $i < n$ it is not attained: each "
       "factor\n"
       "$|w_k|\\,\\sigma'(w_k h_{k-1})$ would need $|w_k| \\to 1$ and $w_k h_{k-1} \\to 0$ at "
       "once, i.e.\n"
       "$h_{k-1} \\to 0$, which a sigmoid output cannot be ($\\sigma'(u_i) = \\tfrac14$ forces\n"
       "$h_i = \\tfrac12$, and then $|w_{i+1}|\\,\\sigma'(w_{i+1}/2) \\le \\sigma'(\\tfrac12) "
       "\\approx 0.235$).\n"
       "The bound uses $|w_k| < 1$ and $\\sigma' \\le \\tfrac14$, which cannot both be tight: "
       "the\n"
       "supremum of the ratio is about 0.943 for $i = n-1$ and shrinks further down (the true "
       "rate is\n"
       "about $0.24^{n-i}$ instead of $0.25^{n-i}$ — still exponential)."),
    N_("**3. tanh.** $\\tanh' = 1 - \\tanh^2 \\le 1$ (equality at 0), so\n"
       "$|\\partial h_n/\\partial w_i| \\le |h_{i-1}| \\prod_{k>i} |w_k|$: the activation forces "
       "no decay;\nonly the weights do."),
    N_("**4. ReLU.** $\\operatorname{relu}'(u) \\in \\{0, 1\\}$ (0 for $u \\le 0$, as PyTorch). "
       "On an active\nchain (every $u_k > 0$)"),
    (r"""$$\Big|\frac{\partial h_n}{\partial w_i}\Big| = |h_{i-1}| \prod_{k>i} |w_k|
  = |x| \prod_{k \ne i} |w_k| \quad \text{""",),
    N_("exactly"),
    ("},$$",),
    N_("so the activation contributes no factor below 1: the largest slope is below $|x|$ for "
       "every\n$i$, with no exponential decay in $n-i$ — only $\\prod |w_k|$ shrinks it. But a "
       "single\npre-activation $u_k = w_k h_{k-1} \\le 0$ makes $h_k = 0$, hence $h_n = 0$ and "
       "every\n$\\partial h_n/\\partial w_i = 0$ exactly: a dead chain. Leaky ReLU with slope "
       "$\\alpha$:\n$\\sigma' \\in \\{\\alpha, 1\\}$, each inactive layer costs a factor "
       "$\\alpha$, but the gradient never\nbecomes exactly 0."),
    N_("**5. Floating point.** float64 underflows below about $2.2\\cdot 10^{-308}$ "
       "(subnormals down\nto $4.9\\cdot 10^{-324}$): a sigmoid chain's gradient "
       "$4^{-(n-i+1)}$ gets there about 510\nlayers below the output. Such gradients are "
       "exactly 0 in float64; the report marks them\n\"underflow\" and gives the magnitude from "
       "the closed form evaluated in log space."),
)

#: How the pieces of _MARKDOWN join: a display's inner words continue it (no break).
_GLUED = {"empty product", "for", "exactly"}


def _join_text(parts: tuple[str | tuple[str], ...]) -> str:
    """The text derivation: prose translated, formula lines as they are, one piece a line
    (a formula line ending in spaces continues with the next piece)."""
    out: list[str] = []
    glue = False
    for part in parts:
        piece = part[0] if isinstance(part, tuple) else (_(part) if part else "")
        if glue:
            out[-1] += piece
        else:
            out.append(piece)
        glue = isinstance(part, tuple) and part[0].endswith(" ")
    return "\n".join(out)


def _join_markdown(parts: tuple[str | tuple[str], ...]) -> str:
    """The Markdown derivation: paragraphs (translated) and displays, blank lines between; the
    words inside a display (``\\text{…}``) are glued into it."""
    out: list[str] = []
    glue = False
    for part in parts:
        if isinstance(part, tuple):
            piece, next_glue = part[0], not part[0].endswith("$$")
        else:
            piece, next_glue = _(part), part in _GLUED
        if glue or (isinstance(part, tuple) and out and not part[0].startswith("$$")):
            out[-1] += piece
        else:
            out.append(piece)
        glue = next_glue
    return "\n\n".join(out)


def _latex_power_of_ten(log10: float) -> str:
    """10^log10 as LaTeX, e.g. ``9.09\\cdot 10^{-13}``."""
    e = math.floor(log10)
    m = 10.0 ** (log10 - e)
    if round(m, 2) >= 10:
        m, e = m / 10, e + 1
    return f"{m:.3g}\\cdot 10^{{{e}}}"


def derivation_text(n: int) -> str:
    """Exercise (a) 1 and 2 (and the tanh/ReLU bounds) as plain Unicode text."""
    b1 = rp.fmt_log10(1.0, -n * math.log10(4), 3)
    return _join_text(_TEXT).replace("@N@", str(n)).replace("@B1@", b1)


def derivation_markdown(n: int) -> str:
    """The same as Markdown with $…$ math (also the source of the LaTeX version)."""
    return _join_markdown(_MARKDOWN).replace("@N@", str(n)).replace("@B1@",
                                                    _latex_power_of_ten(-n * math.log10(4)))


def markdown_to_latex(md: str) -> str:
    """The few Markdown constructs of the derivation (##, **bold**, *italic*, $$…$$) as LaTeX."""
    out = []
    for block in md.split("\n\n"):
        b = block.strip()
        if b.startswith("## "):
            out.append(r"\section*{" + b[3:] + "}")
            continue
        if b.startswith("$$") and b.endswith("$$"):
            out.append(r"\[" + b[2:-2].strip() + r"\]")
            continue
        b = re.sub(r"\*\*(.+?)\*\*", r"\\textbf{\1}", b, flags=re.S)
        b = re.sub(r"(?<![\*\w])\*(\S.+?)\*(?!\*)", r"\\emph{\1}", b, flags=re.S)
        b = re.sub(r'"([^"$]+)"', r"``\1''", b.replace("—", "---"))
        out.append(b)
    return "\n\n".join(out)


def answer_text(rep: Any) -> str:
    """The sheet's question 2, answered with a :class:`VanishingReport`'s numbers."""
    lines = [_("Question 2 (max slope of w_i vs i):")]
    for label, r in rep.results.items():
        k = r.activation.kind
        first, last = r.log10_abs[0], r.log10_abs[-1]
        if np.isfinite(first) and np.isfinite(last):
            meas = _("measured log10|∂h_n/∂w_1| = {first}, log10|∂h_n/∂w_n| = {last}").format(
                first=rp.fmt(first, 4), last=rp.fmt(last, 4))
        else:
            meas = _("measured: exact zeros (dead chain)") if r.dead_layer \
                else _("measured: see table")
        if k == "sigmoid":
            text = _("≤ |h_(i-1)|·4^-(n-i+1), decays exponentially in the distance from the "
                     "output ({n} layers: 4^-{n} = {b})").format(
                n=rep.n, b=rp.fmt_log10(1, -rep.n * math.log10(4), 3))
        elif k == "relu":
            text = _("no decay from the activation (σ' ∈ {{0, 1}}), only ∏|w_k| — and one dead "
                     "unit makes every gradient exactly 0").format()
        elif k == "leaky_relu":
            text = _("σ' ∈ {{{a}, 1}}: a factor {a} per inactive layer, never exactly 0, and "
                     "∏|w_k|").format(a=rp.fmt(r.activation.slope))
        elif k == "tanh":
            text = _("σ' ≤ 1, only ∏|w_k| shrinks it")
        else:
            sym = r.activation.sym
            how = sym.sup_sentence() if sym is not None else _("sup|σ'| unknown")
            bound = ("|h_(i-1)|·sup|σ'|^(n-i+1)·∏_(k>i)|w_k|" if r.log10_bound is not None
                     else _("no bound (σ' is unbounded)"))
            text = _("σ' by SymPy, {how}: {bound}").format(how=how, bound=bound)
        lines.append(f"  {label}: {text}; {meas}")
    return "\n".join(lines)
