"""The sheet's exercises as worksheets: questions with blanks and their key, from the explainers.

:func:`function_dag` (exercise b, any traced scalar function: the value of every node, every
edge's local derivative, every adjoint, the gradient), :func:`vanishing_chain` (exercise a:
∂h_n/∂w_i as a product, its values per layer, the bound) and :func:`jacobian_chain` (exercise c:
the size of every factor of ∇x L, ∇b1 L and ∇W1 L, the loss and the gradients' largest
entries).  What is given never holds a number of the key; the key's numbers are the explainers'.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from .solutions import Question, Worksheet

__all__ = ["function_dag", "vanishing_chain", "jacobian_chain"]


def _g(v: float) -> str:
    return f"{float(v):.6g}".replace("-", "−")


def function_dag(graph: Any, title: str, given: list[str] | None = None) -> Worksheet:
    """Exercise (b) for a traced scalar function: node values, edge derivatives, adjoints, ∇f."""
    from ..dag.steps import stepper_data

    data = stepper_data(graph, title)
    nodes, edges = data["nodes"], data["edges"]
    out = nodes[data["output"]]["name"]
    leaves = [n for n in nodes if n["kind"] == "leaf"]
    ops = [n for n in nodes if n["kind"] == "op"]
    dag = ", ".join(f"{n['name']} = {n['formula']}" for n in ops)
    edge_list = ", ".join(f"{nodes[e['source']]['name']} → {nodes[e['target']]['name']}"
                          for e in edges if e["gradient"])
    info = [*(given or []), _("the DAG (evaluation order): {dag}").format(dag=dag),
            _("its edges: {edges}").format(edges=edge_list)]
    qs: list[Question] = []
    sections: dict[str, str] = {}

    def add(prefix: str, heading: str, items: list[tuple[str, str]]) -> None:
        for k, (prompt, answer) in enumerate(items, start=1):
            label = f"{prefix}{k}"
            if k == 1:
                sections[label] = heading
            qs.append(Question(label, prompt, answer))

    add("v", _("the forward pass: the value of every node"),
        [(f"{n['name']}", f"{n['name']} = {n['value_text']}") for n in ops])
    add("e", _("every edge's local derivative ∂target/∂source, as a formula and at the point"),
        [(e["label"], f"{e['label']} = {e['formula']}"
          + (f" = {e['value_text']}" if e["value_text"] not in (None, e["formula"]) else ""))
         for e in edges if e["gradient"]])
    add("a", _("the backward pass: every adjoint v̄ = ∂{f}/∂v").format(f=out),
        [(f"{n['name'][:1]}\u0304{n['name'][1:]} = ∂{out}/∂{n['name']}",
          f"{n['name'][:1]}\u0304{n['name'][1:]} = {n['adjoint_text']}")
         for n in reversed(nodes) if n["kind"] != "const" and n["adjoint_text"] is not None])
    names = ", ".join(f"∂{out}/∂{n['name']}" for n in leaves)
    add("g", _("the gradient"), [(f"∇{out} = ({names})", str(data["gradient"]))])
    return Worksheet(title, info, qs, sections)


def vanishing_chain(rep: Any) -> Worksheet:
    """Exercise (a): ∂h_n/∂w_i as a product, its value at every layer, the bound, per σ."""
    n = rep.n
    w = ", ".join(_g(v) for v in np.asarray(rep.weights)) if n <= 12 else rep.weights_text()
    given = [_("the chain h_i = σ(w_i·h_(i−1)), i = 1..{n}, h_0 = x = {x}").format(
                 n=n, x=_g(rep.x)),
             _("weights w_1..w_{n}: {w}").format(n=n, w=w),
             _("activations: {list}").format(list=", ".join(
                 f"{r.label} ({r.activation.formula})" for r in rep.results.values()))]
    qs = [Question("1", _("∂h_n/∂w_i as a product of local derivatives (chain rule)"),
                   "∂h_n/∂w_i = h_(i−1)·σ'(w_i h_(i−1))·∏_(k=i+1..n) w_k·σ'(w_k h_(k−1))")]
    sections = {"1": _("the chain rule")}
    for r in rep.results.values():
        first = f"{r.label}.1"
        sections[first] = f"σ = {r.label}"
        for i in range(n):
            qs.append(Question(f"{r.label}.{i + 1}", _("∂h_{n}/∂w_{i} for σ = {act}").format(
                               n=n, i=i + 1, act=r.label),
                               f"∂h_{n}/∂w_{i + 1} = {_g(r.closed[i])}"))
        if r.bound is not None:
            qs.append(Question(f"{r.label}.bound", _(
                "the largest |∂h_{n}/∂w_1| allowed by σ' ≤ max σ' and |w_k| ≤ 1 "
                "(σ = {act})").format(n=n, act=r.label),
                               f"|∂h_{n}/∂w_1| ≤ {_g(r.bound[0])}"))
    return Worksheet(_("(a) vanishing gradients, n = {n}").format(n=n), given, qs, sections)


def _largest(a: np.ndarray, k: int = 3) -> str:
    flat = np.asarray(a, np.float64).reshape(-1)
    idx = np.argsort(-np.abs(flat), kind="stable")[:k]
    return ", ".join(f"[{int(i)}] {_g(flat[i])}" for i in idx)


def jacobian_chain(rep: Any) -> Worksheet:
    """Exercise (c): the size of every factor of the chains, the loss, the largest entries."""
    sizes = "-".join(str(s) for s in rep.spec.sizes)
    given = [_("the MLP {sizes}: z_k = σ(W_k z_(k−1) + b_k), z_0 = x, the last layer a "
               "softmax; L = −log z3_y").format(sizes=sizes),
             _("the layer-level DAG: x → z1 → z2 → z3 → L (W1, b1 feed z1)"),
             _("one vector convention: ∇ of the scalar L is a row vector, J_a(b) = ∂a/∂b has "
               "one row per component of a"),
             _("the input x and its label y = {y} (the sheet's y ∈ [1:10]; class {label})")
             .format(y=rep.sheet_y, label=rep.label)]
    qs: list[Question] = []
    sections: dict[str, str] = {}
    for (target, level), ch in rep.chains.items():
        if level != "layer":
            continue
        sections[f"{target}.1"] = _("∇_{t} L as a chain of Jacobians").format(t=target)
        for k, f in enumerate(ch.factors, start=1):
            qs.append(Question(f"{target}.{k}", _("factor {k} of ∇_{t} L: its name and size")
                               .format(k=k, t=target),
                               f"{f.name} ({f.size})"))
        r = ch.result_shape
        qs.append(Question(f"{target}.size", _("the size of ∇_{t} L").format(t=target),
                           _("{sizes} (∇_{t} L is {rows}×{cols})").format(
                               sizes=ch.size_expression(), t=target, rows=r[0], cols=r[1])))
        qs.append(Question(f"{target}.value", _("the 3 largest entries of ∇_{t} L")
                           .format(t=target),
                           f"∇_{target} L: {_largest(ch.product)}"))
    sections["W1.size"] = _("∇_W1 L (the bonus)")
    rows, cols = np.shape(rep.grad_W1)
    qs.append(Question("W1.size", _("the size of ∇_W1 L and of the tensor J_o1(W1)"),
                       _("∇_W1 L is {rows}×{cols}; J_o1(W1) is {rows}×{rows}×{cols} "
                         "(o1 = W1 x + b1 has {rows} entries)").format(rows=rows, cols=cols)))
    qs.append(Question("W1.value", _("the 3 largest entries of ∇_W1 L (flattened)"),
                       f"∇_W1 L: {_largest(rep.grad_W1)}"))
    sections["L"] = _("the loss")
    qs.append(Question("L", _("L = −log z3_y for this digit"), f"L = {_g(rep.loss)}"))
    return Worksheet(_("(c) the MLP's gradients as chains of Jacobians"), given, qs, sections)
