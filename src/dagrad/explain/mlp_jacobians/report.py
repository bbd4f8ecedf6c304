"""Rendering of a :class:`JacobianChainReport`: Markdown, LaTeX (pdflatex, ASCII only), HTML, text.

Matrices are summarised — size, Frobenius norm, max |entry|, non-zeros and the first few
non-zero entries — never dumped whole.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ...i18n import N_, _
from ...web.texmath import tex as tex_inline
from ...web.texmath import tex_display
from ..report import (
    fmt,
    html_table,
    latex_document,
    latex_table,
    latex_text,
    markdown_table,
    text_table,
)
from . import jacobians as jac
from .factors import (
    SOURCES,
    Chain,
    Check,
    check_name,
    node_latex,
    source,
    source_name,
    split_checks,
)
from .products import Product, size_latex

if TYPE_CHECKING:
    from .single import JacobianChainReport

__all__ = ["markdown", "latex", "html_report", "text_summary", "matrix_entries",
           "network_line", "factor_table", "VJP_NOTE", "CONSISTENCY_NOTE", "check_counts",
           "check_rows", "consistency_rows", "oracle_breakdown", "sources_note", "check_head",
           "consistency_head"]

# English msgids: _(VJP_NOTE).format(n=…) and _(CONSISTENCY_NOTE) where they are shown
VJP_NOTE = N_("The product is evaluated left to right: v ← J_L(z{n}), then v ← v·J for each "
              "next factor. Every step is a vector–Jacobian product (a 1×m row vector times an "
              "m×k matrix), never a matrix–matrix product, and the row vector after each step "
              "is the adjoint ∇L of that factor's input — what reverse mode (backprop) "
              "computes.")

CONSISTENCY_NOTE = N_("Consistency facts hold by construction and are not counted as checks: "
                      "sizes that chain (a product whose sizes do not chain raises before it is "
                      "printed), the softmax Jacobian's symmetry and its row sums of 0, and "
                      "two builds of one definition. They are listed so that nothing is "
                      "hidden.")

# ----- numbers ------------------------------------------------------------------------
def matrix_entries(A: np.ndarray, k: int = 3) -> list[tuple[tuple[int, ...], float]]:
    """The first ``k`` non-zero entries of A in row-major order (index, value)."""
    flat = np.flatnonzero(A)[:k]
    return [(tuple(int(i) for i in np.unravel_index(j, A.shape)), float(A.flat[j])) for j in flat]


def _entries_text(A: np.ndarray, k: int = 3) -> str:
    ents = matrix_entries(A, k)
    if not ents:
        return _("all 0")
    s = ", ".join(f"[{','.join(map(str, i))}] = {fmt(v, 4)}" for i, v in ents)
    return s + (", …" if np.count_nonzero(A) > k else "")


def _entries_latex(A: np.ndarray, k: int = 2) -> str:
    ents = matrix_entries(A, k)
    if not ents:
        return r"\text{" + latex_text(_("all 0")) + "}"
    s = r",\ ".join(f"[{','.join(map(str, i))}] = {fmt(v, 4)}" for i, v in ents)
    return s + (r",\ \dots" if np.count_nonzero(A) > k else "")


def _norm(A: np.ndarray) -> float:
    return float(np.linalg.norm(A))


def _sz(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape)


def _tex_sz(shape: tuple[int, ...]) -> str:
    return r" \times ".join(str(s) for s in shape)


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


# ----- shared pieces ----------------------------------------------------------------------
def _title(r: JacobianChainReport) -> str:
    return _("Exercise (c): the MLP's gradient as a chain of Jacobians")


def network_line(r: Any) -> str:
    """One line on the architecture (sizes, activation, output option)."""
    s = r.spec
    out = "softmax" if s.output == "softmax" else _("None (logits)")
    return _("MLP {sizes}, hidden activation {activation}, output option {output} — the "
             "softmax {softmax} and {loss} are explicit steps either way").format(
        sizes="-".join(map(str, s.sizes)), activation=s.activation, output=out,
        softmax=f"z{s.depth} = softmax(o{s.depth})", loss=f"L = −log z{s.depth}_y")


def _sample(r: JacobianChainReport) -> str:
    n = r.depth
    p = r.probabilities
    return _("one input {x}, label {label} (0-based; the sheet's {y} is y = label + 1 = "
             "{sheet_y}); {loss}, {prob}; predicted class {prediction} ({p})").format(
        x=f"x ∈ ℝ^{r.spec.sizes[0]}", label=r.label, y=f"y ∈ [1:{r.spec.sizes[-1]}]",
        sheet_y=r.sheet_y, loss=f"L = −log z{n}_y = {fmt(r.loss, 8)}",
        prob=f"z{n}_y = {fmt(p[r.label], 6)}", prediction=r.prediction,
        p=f"p = {fmt(p[r.prediction], 4)}")


def _nodes(r: JacobianChainReport) -> list[tuple[str, str, str]]:
    s, n = r.spec, r.depth
    rows = [("x", _("the input"), f"{s.sizes[0]}")]
    for l in range(1, n + 1):
        b = f" + b^({l})" if s.biases[l - 1] is not None else ""
        rows.append((f"o{l}", f"W^({l})·z^({l - 1}){b}" if l > 1 else f"W^(1)·x{b}",
                     f"{s.sizes[l]}"))
        fn = "softmax" if l == n else s.activation
        rows.append((f"z{l}", f"{fn}(o{l})", f"{s.sizes[l]}"))
    rows.append(("y", _("the label (an integer, not differentiated): {label}").format(
        label=r.label), "—"))
    rows.append(("L", f"−log z{n}_y", _("1 (scalar)")))
    return rows


def _dag_line(r: JacobianChainReport, level: str) -> str:
    n = r.depth
    if level == "layer":
        path = ["x"] + [f"z{l}" for l in range(1, n + 1)]
    else:
        path = ["x"] + [f"{k}{l}" for l in range(1, n + 1) for k in "oz"]
    return " → ".join(path) + " → L ← y"


def _derivations(r: JacobianChainReport) -> list[tuple[str, str, str, str]]:
    """(step, step in LaTeX, derivation text, derivation LaTeX) of every kind of step."""
    n = r.depth
    zn, on = node_latex(f"z{n}"), node_latex(f"o{n}")
    out = [(f"L = −log z{n}_y", rf"L = -\log {zn}_y", _(jac.LOSS_DERIVATION),
            jac.LOSS_DERIVATION_LATEX),
           (f"z{n} = softmax(o{n})", rf"{zn} = \operatorname{{softmax}}({on})",
            _(jac.SOFTMAX_DERIVATION), jac.SOFTMAX_DERIVATION_LATEX)]
    if n > 1:
        f = jac.ACTIVATION_FORMS[r.spec.activation]
        fn = r"\sigma" if f.name == "sigmoid" else (
            rf"\{f.name}" if f.name == "tanh" else rf"\operatorname{{{f.name.replace('_', '')}}}")
        out.append((f"z(l) = {f.name}(o(l))", rf"z^{{(l)}} = {fn}(o^{{(l)}})", _(f.derivation),
                    f.derivation_latex))
    out.append(("o(l) = W(l) z(l−1) + b(l)", r"o^{(l)} = W^{(l)} z^{(l-1)} + b^{(l)}",
                _(jac.LINEAR_DERIVATION), jac.LINEAR_DERIVATION_LATEX))
    return out


def _factor_rows(ch: Chain) -> list[list[str]]:
    return [[str(k + 1), f.name, f.formula, f.size, fmt(_norm(f.matrix), 5),
             _entries_text(f.matrix)] for k, f in enumerate(ch.factors)]


def _adjoint_rows(ch: Chain) -> list[list[str]]:
    rows = []
    for k, (f, a, d) in enumerate(zip(ch.factors, ch.adjoints, ch.adjoint_diffs, strict=True)):
        prod = f.name if k == 0 else f"v·{f.name}"
        rows.append([str(k + 1), prod, f"∇_{f.input} L", _sz(a.shape), fmt(_norm(a), 6),
                     fmt(d, 3)])
    return rows


def _chain_heading(ch: Chain) -> str:
    what = _("layer level (x, z1, z2, … as in the sheet's DAG)") if ch.level == "layer" else \
        _("fine level (every o(l) = W(l) z(l−1) + b(l) its own step)")
    return f"{ch.lhs} — {what}"


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def _bonus_intro(r: JacobianChainReport) -> list[str]:
    w = r.weight
    n, m = w.n_out, w.n_in
    return [
        _("One convention from start to end, the sheet's: the gradient of the scalar L is a "
          "row vector, so {delta} is {dsize} (as {gx} is {xsize}), and J_a(b) has one row per "
          "component of a. W1 is {wsize}; vec(W1) lists its rows one after another ({count} "
          "entries), and every product below is evaluated with exactly the sizes shown."
          ).format(delta="δ1 = ∇_o1 L", dsize=f"1×{n}", gx="∇_x L", xsize=f"1×{m}",
                   wsize=f"{n}×{m}", count=f"{n * m:,}"),
        _("{J} is a 3-tensor of size {size} with entries {entries} ({count} entries, {mib} in "
          "float64). Flattened over (j, k) it is the Jacobi-Matrix of size {flat}: {kron}."
          ).format(J="J_o1(W1)", size=f"{n} × {n} × {m}", entries="∂o1_i/∂W1_jk = δ_ij·x_k",
                   count=f"{n * n * m:,}", mib=_mib(w.nbytes), flat=f"{n} × {n * m:,}",
                   kron=f"J_o1(W1) = I_{n} ⊗ xᵀ"),
    ]


def _bonus_status(r: JacobianChainReport, key: str) -> str:
    w = r.weight
    if key in w.results:
        return _("max |Δ| vs backprop = {d}").format(d=fmt(w.diff(key), 3))
    if key == "J" and w.flat_vs_kron is not None:
        return _("equals the built 3-tensor flattened (max |Δ| = {d}; two builds of one "
                 "definition, a consistency fact)").format(d=fmt(w.flat_vs_kron, 3))
    return _("not evaluated (dense=False: it forms the {mib} Jacobian)").format(
        mib=_mib(w.nbytes))


def _bonus_items(r: JacobianChainReport) -> list[tuple[Product, str]]:
    """(displayed product, what became of it) for δ1 and every form of the bonus."""
    d = fmt(float(np.max(np.abs(r.delta.evaluate() - r.delta.reference))), 3)
    items = [(r.delta, _("max |Δ| vs backprop's {grad} = {d}").format(grad="∇_o1 L", d=d))]
    return items + [(p, _bonus_status(r, k)) for k, p in r.weight.products.items()]


def _bonus_tail(r: JacobianChainReport) -> str:
    w = r.weight
    n = w.n_out
    if w.dense:
        ents = ", ".join(f"T[{i},{j},{k}] = {fmt(v, 4)}" for (i, j, k), v in w.tensor_entries)
        return _("Built densely ({mib}) and dropped after use: {norm} (= {root}), {nnz} "
                 "entries ≠ 0 (= {n} × the {pixels} pixels ≠ 0); {entries}.").format(
            mib=_mib(w.nbytes), norm=f"‖J_o1(W1)‖_F = {fmt(w.tensor_norm, 6)}",
            root=f"√{n}·‖x‖", nnz=f"{w.tensor_nnz:,}", n=n, pixels=np.count_nonzero(w.x),
            entries=ents)
    return _("The dense tensor was not built (dense=False): {vec} is computed as {kron} and "
             "{grad} as {outer}, never forming the {mib}.").format(
        vec="vec(∇_W1 L)", kron="δ1 ⊗ xᵀ", grad="∇_W1 L", outer="δ1ᵀ · xᵀ", mib=_mib(w.nbytes))


def _bonus_text(r: JacobianChainReport) -> list[str]:
    """The bonus as plain sentences: the convention, J_o1(W1), every product, the tensor facts."""
    out = _bonus_intro(r)
    out += [f"{p.text()} — {p.note_text()}; {status}." if p.note else f"{p.text()} — {status}."
            for p, status in _bonus_items(r)]
    return out + [_bonus_tail(r)]


# ----- checks --------------------------------------------------------------------------------
def check_counts(r: Any) -> str:
    """"checks: 27 of 27 pass (…); consistency: 7 of 7 hold (not counted)"."""
    ind, con = split_checks(r.checks)
    line = _("checks: {k} of {n} pass (each compares two independent computations)").format(
        k=sum(c.ok for c in ind), n=len(ind))
    if con:
        line += _("; consistency: {k} of {n} hold (by construction, not counted as checks)"
                  ).format(k=sum(c.ok for c in con), n=len(con))
    return line


def oracle_breakdown(r: Any) -> str:
    """"13 closed forms vs dagrad reverse mode, 12 closed forms vs dg.jacobian, …"."""
    counts: dict[tuple[str, str], int] = {}
    for c in split_checks(r.checks)[0]:
        counts[(c.subject, c.oracle)] = counts.get((c.subject, c.oracle), 0) + 1
    return ", ".join(_("{k} {subject} vs {oracle}").format(k=k, subject=source_name(s),
                                                            oracle=source_name(o))
                     for (s, o), k in counts.items())


def _value(c: Check) -> str:
    return str(c.value) if isinstance(c.value, bool) else fmt(c.value, 3)


def check_rows(r: Any) -> list[list[str]]:
    """(check, checked, oracle, value, tolerance, ok) of every independent check."""
    return [[check_name(c), source_name(c.subject), source_name(c.oracle), _value(c),
             "—" if c.tol is None else fmt(c.tol, 2), _mark(c.ok)]
            for c in split_checks(r.checks)[0]]


def consistency_rows(r: Any) -> list[list[str]]:
    """(fact, value, ok) of every consistency check."""
    return [[check_name(c), _value(c), _mark(c.ok)] for c in split_checks(r.checks)[1]]


# column heads (English msgids): check_head() and consistency_head() translate them
CHECK_HEAD = [N_("check"), N_("computed by"), N_("oracle"), N_("value"), N_("tolerance"),
              N_("ok")]
CONSISTENCY_HEAD = [N_("fact (not counted)"), N_("value"), N_("ok")]


def check_head() -> list[str]:
    """The checks table's column heads in the current language."""
    return [_(h) for h in CHECK_HEAD]


def consistency_head() -> list[str]:
    """The consistency table's column heads in the current language."""
    return [_(h) for h in CONSISTENCY_HEAD]


def sources_note() -> str:
    """What each named computation is."""
    return _("Computations named: {sources}.").format(
        sources="; ".join(f"{source_name(k)}: {source(k)}" for k in SOURCES))


def _chains(r: JacobianChainReport) -> list[Chain]:
    return list(r.chains.values())


def _state(r: JacobianChainReport) -> list[str]:
    return [r.description] if r.description else []


# ----- Markdown -----------------------------------------------------------------------------
def markdown(r: JacobianChainReport, dag_path: str | None = None) -> str:
    """The report as Markdown (GitHub: tables and $$ math)."""
    n = r.depth
    out = [f"# {_title(r)}", ""]
    out += [f"*{s}*" for s in _state(r)] + [""] if r.description else []
    out += [f"- {_network_label()}: {network_line(r)}.", f"- {_sample_label()}: {_sample(r)}.",
            f"- {_reference_line()}", ""]
    out += [f"## {_('The DAG')}", "", f"{_('Layer level')}: `{_dag_line(r, 'layer')}`  ",
            f"{_('Fine level')}: `{_dag_line(r, 'fine')}` "
            + _("({w}, {b} feed {o})").format(w="W(l)", b="b(l)", o="o(l)"), ""]
    if dag_path:
        out += [f"![{_('the layer-level DAG')}]({dag_path})", ""]
    out += [markdown_table(_node_head(), _nodes(r)), ""]
    out += [f"## {_('The Jacobians of the steps, from the definitions')}", "",
            _("Numerator layout: {J} has one row per component of a and one column per "
              "component of b, so a gradient is a row vector and the chain rule is a product "
              "{chain} read from the loss back to the input.").format(
                J="J_a(b) = ∂a/∂b", chain="J_L(z) · J_z(o) · …"), ""]
    for step, _step_tex, text, tex in _derivations(r):
        out += [f"**{step}.** {text}", "", f"$$ {tex} $$", ""]
    for ch in _chains(r):
        out += [f"## {_chain_heading(ch)}", "", f"**{ch.display().text()}**", "",
                _("Sizes: {sizes} — they chain: {mark}").format(
                    sizes=ch.size_expression(), mark=_mark(ch.sizes_chain)), ""]
        out += [markdown_table(_factor_head(), _factor_rows(ch)), ""]
        parts = [f for f in ch.factors if f.parts]
        if parts:
            out += [_("Layer-level factors are products of fine ones: {products}.").format(
                products="; ".join(f"{f.name} = {' · '.join(f.parts)}" for f in parts)), ""]
        out += [_(VJP_NOTE).format(n=n), ""]
        out += [markdown_table(_adjoint_head(), _adjoint_rows(ch)), ""]
        out += [_("Result {lhs} ({size}): {norm}; {diff}.").format(
            lhs=ch.lhs, size=f"1 × {ch.result_shape[1]}",
            norm=f"‖·‖ = {fmt(_norm(ch.product), 6)}",
            diff=_("max |chain − backprop| = {d}").format(d=fmt(ch.max_abs_diff, 3))), ""]
    out += [f"## {_bonus_heading()}", ""]
    out += [line for s in _bonus_intro(r) for line in (s, "")]
    for p, status in _bonus_items(r):
        out += [f"- **{p.text()}**  ", f"  {p.note_text() + '; ' if p.note else ''}{status}."]
    out += ["", _bonus_tail(r), ""]
    out += [f"## {_('Checks')}", "", markdown_table(check_head(), check_rows(r)), "",
            f"{check_counts(r)}.", "", sources_note(), ""]
    out += [f"### {_('Consistency (not counted as checks)')}", "", _(CONSISTENCY_NOTE), "",
            markdown_table(consistency_head(), consistency_rows(r)), ""]
    out += [f"## {_('Timings')}", "", markdown_table(
        [_("stage"), _("seconds")], [[_(k), f"{v:.4f}"] for k, v in r.seconds.items()]), ""]
    return "\n".join(out)


# ----- LaTeX ----------------------------------------------------------------------------------
def _tex_factor_rows(ch: Chain) -> list[list[str]]:
    return [[str(k + 1), f"${f.latex_name}$", f"${f.latex}$", f"${_tex_sz(f.shape)}$",
             fmt(_norm(f.matrix), 5), f"${_entries_latex(f.matrix)}$"]
            for k, f in enumerate(ch.factors)]


def _tex_chain_heading(ch: Chain) -> str:
    lhs = rf"$\nabla_{{{node_latex(ch.target)}}} L$"
    if ch.level == "layer":
        return lhs + " --- " + _latex_fill(_("layer level ({nodes} as in the DAG)"),
                                           nodes=r"$x, z^{(1)}, z^{(2)}, \dots$")
    return lhs + " --- " + _latex_fill(_("fine level (each {step} a step)"),
                                       step=r"$o^{(l)} = W^{(l)} z^{(l-1)} + b^{(l)}$")


def _tex_chain_expr(ch: Chain) -> str:
    sizes = r" \cdot ".join(rf"({_tex_sz(f.shape)})" for f in ch.factors)
    res = _tex_sz(ch.result_shape)
    return (r"\[" + ch.display().tex() + r"\]" + "\n" + r"\[" + f"{sizes} \\;\\to\\; ({res})"
            + r"\]")


def _tex_dag(r: JacobianChainReport) -> str:
    n = r.depth
    parts = ["x"]
    prev = "x"
    for l in range(1, n + 1):
        z = node_latex(f"z{l}")
        parts.append(rf"\xrightarrow{{J_{{{z}}}({prev})}} {z}")
        prev = z
    selects = latex_text(_("selects"))
    parts.append(rf"\xrightarrow{{J_L({prev})}} L \xleftarrow{{\ \text{{{selects} }} {prev}_y\ }}"
                 " y")
    return r"\[" + " ".join(parts) + r"\]"


def _tex_adjoint_rows(ch: Chain) -> list[list[str]]:
    rows = []
    for k, (f, a, d) in enumerate(zip(ch.factors, ch.adjoints, ch.adjoint_diffs, strict=True)):
        prod = f.latex_name if k == 0 else rf"v \cdot {f.latex_name}"
        rows.append([str(k + 1), f"${prod}$", rf"$\nabla_{{{node_latex(f.input)}}} L$",
                     f"${_tex_sz(a.shape)}$", fmt(_norm(a), 6), fmt(d, 3)])
    return rows


def latex(r: JacobianChainReport) -> str:
    """The report as a complete LaTeX document (ASCII only; compiles with pdflatex)."""
    n = r.depth
    b = []
    if r.description:
        b.append(r"\noindent\emph{" + latex_text(r.description) + "}\n")
    b.append(r"\begin{itemize}")
    b.append(r"\item " + latex_text(f"{_network_label()}: {network_line(r)}") + ".")
    b.append(r"\item " + latex_text(f"{_sample_label()}: {_sample(r)}") + ".")
    b.append(r"\item " + latex_text(_reference_line()))
    b.append(r"\end{itemize}")
    b.append(r"\section*{" + latex_text(_("The DAG")) + "}")
    b.append(_tex_dag(r))
    b.append(_latex_fill(_("with {definitions}. The label {y} only selects a component; it "
                           "is not differentiated."),
        definitions=r"$o^{(l)} = W^{(l)} z^{(l-1)} + b^{(l)}$, $z^{(l)} = \varphi(o^{(l)})$ "
                    rf"($l < {n}$), $z^{{({n})}} = \operatorname{{softmax}}(o^{{({n})}})$, "
                    rf"$L = -\log z^{{({n})}}_y$, $z^{{(0)}} = x$", y="$y$"))
    b.append(r"\section*{" + latex_text(_("The Jacobians of the steps, from the definitions"))
             + "}")
    b.append(_latex_fill(_("Numerator layout: {J} has one row per component of {a} and one "
                           "column per component of {b}, so a gradient is a row vector."),
        J=r"$J_a(b) = \partial a/\partial b$", a="$a$", b="$b$"))
    for _step_text, step, _text, tex in _derivations(r):
        b.append(r"\paragraph{$" + step + "$}")
        b.append(r"\[" + tex + r"\]")
    for ch in _chains(r):
        b.append(r"\section*{" + _tex_chain_heading(ch) + "}")
        b.append(_tex_chain_expr(ch))
        b.append(latex_text(_("The sizes chain.") if ch.sizes_chain else
                            _("The sizes do NOT chain.")))
        head = _factor_head()
        b.append(latex_table(["\\#"] + [latex_text(h) for h in head[1:4]]
                             + [r"$\|\cdot\|_F$", latex_text(head[5])],
                             _tex_factor_rows(ch), "rllrrl", size="small"))
        b.append(latex_text(_(VJP_NOTE).format(n=n)))
        head = _adjoint_head()
        b.append(latex_table([latex_text(h) for h in head[:4]] + [r"$\|\cdot\|$",
                                                                 latex_text(head[5])],
                             _tex_adjoint_rows(ch), "rllrrr", size="small"))
        b.append(latex_text(_("max |chain − backprop| = {d}").format(d=fmt(ch.max_abs_diff, 3)))
                 + ".")
    w = r.weight
    b.append(r"\section*{" + latex_text(_bonus_heading()) + "}")
    nn, m = w.n_out, w.n_in
    b.append(latex_text(_bonus_intro(r)[0]))
    b.append(rf"\[ J_{{o^{{(1)}}}}(W^{{(1)}}) \in \mathbb{{R}}^{{{nn} \times {nn} \times {m}}},"
             r"\qquad \bigl[J_{o^{(1)}}(W^{(1)})\bigr]_{ijk} = "
             r"\frac{\partial o^{(1)}_i}{\partial W^{(1)}_{jk}} = \delta_{ij}\, x_k \]")
    b.append(_latex_fill(_("{count} entries, {mib} in float64. Flattened over {jk} it is the "
                           "Jacobi-Matrix of size {size}:"),
        count=f"${size_latex((nn * nn * m,))}$", mib=latex_text(_mib(w.nbytes)),
        jk="$(j,k)$", size=f"${size_latex((nn, nn * m))}$"))
    b.append(r"\[ I_{" + str(nn) + r"} \otimes x^\top = \begin{pmatrix} x^\top & 0 & \cdots & 0"
             r"\\ 0 & x^\top & \cdots & 0 \\ \vdots & & \ddots & \vdots \\ 0 & 0 & \cdots & "
             r"x^\top \end{pmatrix}. \]")
    b.append(latex_text(_("Every product with the size of each factor under it (all "
                          "computable as shown):")))
    for p, status in _bonus_items(r):
        b.append(r"\[ " + p.tex() + r" \]")
        b.append(r"\noindent{\small " + latex_text((p.note_text() + "; " if p.note else "")
                                                    + status) + ".}")
    b.append(latex_text(_bonus_tail(r)))
    b.append(r"\section*{" + latex_text(_("Checks")) + "}")
    b.append(latex_text(check_counts(r)) + ".")
    b.append(latex_table([latex_text(h) for h in check_head()],
                         [[r"\parbox[t]{7cm}{\raggedright " + latex_text(c) + "}"] +
                          [latex_text(x) for x in rest] for c, *rest in check_rows(r)],
                         "llllrl", size="small"))
    b.append(latex_text(sources_note()))
    b.append(r"\subsection*{" + latex_text(_("Consistency (not counted as checks)")) + "}")
    b.append(latex_text(_(CONSISTENCY_NOTE)))
    b.append(latex_table([latex_text(h) for h in consistency_head()],
                         [[r"\parbox[t]{11cm}{\raggedright " + latex_text(c) + "}"] +
                          [latex_text(x) for x in rest] for c, *rest in consistency_rows(r)],
                         "lrl", size="small"))
    return latex_document(_title(r), "\n\n".join(b))


# ----- HTML ------------------------------------------------------------------------------------
def _html_factor_rows(ch: Chain) -> list[list[Any]]:
    """The factor table with the Jacobians, formulas and sizes as formulas (KaTeX)."""
    return [[str(k + 1), tex_inline(f.latex_name), tex_inline(f.latex),
             tex_inline(_tex_sz(f.shape)), fmt(_norm(f.matrix), 5), _entries_text(f.matrix)]
            for k, f in enumerate(ch.factors)]


def _svg(r: JacobianChainReport) -> str:
    try:
        from ..picture import svg

        return svg(r.dag_dot("layer"))
    except Exception:  # noqa: BLE001 - no graphviz here: the text DAG stands alone
        return ""


def html_report(r: JacobianChainReport) -> str:
    """The report as an HTML fragment for Jupyter; every piece of text is escaped, the
    mathematics is LaTeX marked for KaTeX (or Jupyter's MathJax) by ``dagrad.web.tex``."""
    e = html.escape
    n = r.depth
    h = [f"<div class='dagrad-jacobian-chain'><h3>{e(_title(r))}</h3>"]
    if r.description:
        h.append(f"<p><em>{e(r.description)}</em></p>")
    h.append(f"<ul><li>{e(_network_label())}: {e(network_line(r))}.</li>"
             f"<li>{e(_sample_label())}: {e(_sample(r))}.</li></ul>")
    h.append(f"<h4>{e(_('The DAG'))}</h4><p><code>{e(_dag_line(r, 'layer'))}</code></p>")
    h.append(_svg(r))
    h.append(html_table(_node_head(), _nodes(r)))
    h.append(f"<h4>{e(_('The Jacobians of the steps'))}</h4>")
    for _step_text, step_tex, _text, derivation_tex in _derivations(r):
        h.append(f"<p><b>{tex_inline(step_tex)}</b></p>")
        h += [tex_display(part) for part in derivation_tex.split(r",\quad")]
    for ch in _chains(r):
        h.append(f"<h4>{e(_chain_heading(ch))}</h4>{tex_display(ch.display().tex())}"
                 f"<p>{e(_('sizes:'))} {e(ch.size_expression())} {_mark(ch.sizes_chain)}</p>")
        h.append(html_table(_factor_head(), _html_factor_rows(ch)))
        h.append(f"<p>{e(_(VJP_NOTE).format(n=n))}</p>")
        h.append(html_table(_adjoint_head(), _adjoint_rows(ch)))
    h.append(f"<h4>{e(_bonus_heading())}</h4>")
    h += [f"<p>{e(s)}</p>" for s in _bonus_intro(r)]
    h.append("<ul>" + "".join(f"<li>{tex_display(p.tex())}"
                              f"{e(p.note_text() + '; ' if p.note else '')}"
                              f"{e(status)}.</li>" for p, status in _bonus_items(r)) + "</ul>")
    h.append(f"<p>{e(_bonus_tail(r))}</p>")
    h.append(f"<h4>{e(check_counts(r))}</h4>")
    h.append(html_table(check_head(), check_rows(r)))
    h.append(f"<p>{e(sources_note())}</p>")
    h.append(f"<h4>{e(_('Consistency (not counted as checks)'))}</h4>"
             f"<p>{e(_(CONSISTENCY_NOTE))}</p>")
    h.append(html_table(consistency_head(), consistency_rows(r)))
    h.append("</div>")
    return "\n".join(h)


# ----- terminal ------------------------------------------------------------------------------
def factor_table(ch: Chain) -> str:
    """Jacobian / formula / size of each factor, aligned for the terminal."""
    return text_table([_("Jacobian"), _("formula"), _("size")],
                      [[f.name, f.formula, f.size] for f in ch.factors])


def text_summary(r: JacobianChainReport, checks: bool = True) -> str:
    """Names, formulas and sizes of every chain, the bonus and the check results (plain text)."""
    out = [_title(r)]
    out += _state(r)
    out += [f"{_('network')}: {network_line(r)}", f"{_('sample')}: {_sample(r)}", ""]
    for ch in _chains(r):
        level = _("layer level") if ch.level == "layer" else _("fine level")
        out += [f"{ch.display().text()}   [{level}]",
                _indent(factor_table(ch)),
                f"  {_('sizes:')} {ch.size_expression()} {_mark(ch.sizes_chain)};  "
                + _("max |chain − backprop| = {d}").format(d=fmt(ch.max_abs_diff, 3)), ""]
    w = r.weight
    out += [_("bonus: {grad} (gradients are rows; vec(W1) lists W1's rows) — {J} is {size} "
              "({entries}, {mib} dense), flattened {flat} = {kron}").format(
        grad="∇_W1 L", J="J_o1(W1)", size=_sz(w.tensor_shape),
        entries="∂o1_i/∂W1_jk = δ_ij·x_k", mib=_mib(w.nbytes),
        flat=f"{w.flat_shape[0]} × {w.flat_shape[1]:,}", kron="I ⊗ xᵀ")]
    out += [f"  {p.text()}\n      {status}" for p, status in _bonus_items(r)]
    out.append("")
    if checks:
        out.append(check_counts(r))
        out += [f"  {c[-1]} {c[0]}: {c[3]}   [" + _("{subject} vs {oracle}").format(
            subject=c[1], oracle=c[2]) + "]" for c in check_rows(r)]
        out.append(_("consistency (not counted as checks):"))
        out += [f"  {c[-1]} {c[0]}: {c[1]}" for c in consistency_rows(r)]
    return "\n".join(out)


def _latex_fill(template: str, **math: str) -> str:
    """A prose template for LaTeX: the prose escaped, each ``{name}`` replaced by ``math[name]``
    (LaTeX as it is)."""
    parts = re.split(r"(\{\w+\})", template)
    return "".join(math[p[1:-1]] if re.fullmatch(r"\{\w+\}", p) else latex_text(p)
                   for p in parts)


def _network_label() -> str:
    return _("Network")


def _sample_label() -> str:
    return _("Sample")


def _reference_line() -> str:
    return _("Backprop reference: dagrad reverse mode through the model's own modules on "
             "float64 copies of the weights. Closed forms: plain NumPy from the weights and the "
             "forward values.")


def _bonus_heading() -> str:
    return _("Bonus: {grad} with tensors and Kronecker products").format(grad="∇_W1 L")


def _node_head() -> list[str]:
    return [_("node"), _("definition"), _("size")]


def _factor_head() -> list[str]:
    return ["#", _("Jacobian"), _("formula"), _("size"), "‖·‖_F", _("first entries ≠ 0")]


def _adjoint_head() -> list[str]:
    return [_("step"), _("product"), _("= adjoint"), _("size"), "‖·‖",
            _("max |Δ| vs backprop")]


def _indent(block: str, pad: str = "  ") -> str:
    return "\n".join(pad + line for line in block.splitlines())
