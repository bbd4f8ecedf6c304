"""The new table entries reach the table's consumers with no code of their own.

sin, cos, log1p, expm1, softplus, square, minimum and clamp in ``dg.compile`` (array and 0-d
paths), ``dagrad graph`` (parser, edge formulas and values, SymPy chain rule) and the HTML
stepper.  Gradients are checked against PyTorch; the compiled plan against eager dagrad.
"""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from conftest import torch
from dagrad.cli import main
from dagrad.dag.steps import stepper_data

F = torch.nn.functional
UNARY = {
    "sin": (dg.sin, torch.sin),
    "cos": (dg.cos, torch.cos),
    "log1p": (lambda a: dg.log1p(a * a), lambda a: torch.log1p(a * a)),
    "expm1": (dg.expm1, torch.expm1),
    "softplus": (dg.softplus, F.softplus),
    "square": (dg.square, torch.square),
    "clamp": (lambda a: dg.clamp(a, -0.5, 0.5), lambda a: torch.clamp(a, -0.5, 0.5)),
    "minimum": (lambda a: dg.minimum(a, 0.3 - a), lambda a: torch.minimum(a, 0.3 - a)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(5, 4), ()], ids=["array", "scalar"])
@pytest.mark.parametrize("name", list(UNARY))
def test_compile_equals_eager_and_torch(name, shape, dtype):
    f, tf = UNARY[name]
    loss = lambda a: (f(a) * a).sum()
    compiled = dg.compile(dg.value_and_grad(loss), tune=False)
    eager = dg.value_and_grad(loss)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.uniform(-2, 2, shape).astype(dtype)
        (vc, gc), (ve, ge) = compiled(dg.tensor(x)), eager(dg.tensor(x))
        np.testing.assert_allclose(vc.data, ve.data, rtol=1e-6)
        np.testing.assert_allclose(gc.data, ge.data, rtol=1e-6, atol=1e-7)
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        (tf(t) * t).sum().backward()
        np.testing.assert_allclose(gc.data, t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("expr, formula, value", [
    ("sin(x)*x", "cos(x)", 0.540302),
    ("cos(x)", "-sin(x)", -0.841471),
    ("log1p(x)", "1/(1 + x)", 0.5),
    ("expm1(x)", "exp(x)", 2.71828),
    ("softplus(x)", "1/(1 + exp(-x))", 0.731059),
    ("square(x)", "2*x", 2),
])
def test_dagrad_graph_parses_and_derives(expr, formula, value, capsys):
    assert main(["graph", expr, "--at", "x=1"]) == 0
    text = capsys.readouterr().out
    assert "check: the formulas at this point equal backprop" in text
    edges = [ln.replace("−", "-").replace("·", "*").replace(" ", "")
             for ln in text.splitlines() if "x → " in ln]  # the edges out of x
    assert any(f"/∂x={formula.replace(' ', '')}={value:g}" in ln for ln in edges), edges


@pytest.mark.parametrize("expr, at, grad", [
    ("minimum(x, y)", "x=0.7,y=0.2", (0, 1)),
    ("clamp(x, 0, 1)*x", "x=0.7", (1.4,)),
    ("clip(x, 0.5, 1)*x", "x=2", (1,)),
])
def test_dagrad_graph_minimum_and_clamp(expr, at, grad, capsys):
    assert main(["graph", expr, "--at", at]) == 0
    text = capsys.readouterr().out
    assert "check: the formulas at this point equal backprop" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("gradient:"))
    for g in grad:
        assert f"= {g:g}" in line, line


def test_the_stepper_walks_a_graph_of_every_new_op(tmp_path):
    x = dg.tensor(0.7, dtype="float64", requires_grad=True, name="x")
    y = dg.tensor(0.2, dtype="float64", requires_grad=True, name="y")
    out = (dg.clamp(dg.sin(x) * dg.softplus(y), -1, 1) + dg.minimum(dg.log1p(x), dg.expm1(y))
           + dg.square(dg.cos(x)))
    g = dg.graph(out)
    d = stepper_data(g, "t")
    sums: dict[int, float] = {}
    for s in d["steps"]:
        if s["kind"] == "edge":
            sums[s["node"]] = sums.get(s["node"], 0.0) + s["contribution"]
    for n in g.nodes:
        if n.kind == "leaf":
            assert sums[n.index] == pytest.approx(float(n.grad))
    tx, ty = torch.tensor(0.7, dtype=torch.float64, requires_grad=True), torch.tensor(
        0.2, dtype=torch.float64, requires_grad=True)
    (torch.clamp(torch.sin(tx) * F.softplus(ty), -1, 1)
     + torch.minimum(torch.log1p(tx), torch.expm1(ty)) + torch.square(torch.cos(tx))).backward()
    assert float(g["x"].grad) == pytest.approx(tx.grad.item())
    assert float(g["y"].grad) == pytest.approx(ty.grad.item())
    page = tmp_path / "stepper.html"
    g.to_html(page)
    assert all(name in page.read_text(encoding="utf-8")
               for name in ("sin", "cos", "softplus", "clamp", "log1p", "expm1"))



def test_vanishing_chain_takes_softplus_and_sin_by_name(capsys):
    from dagrad.explain.vanishing_chain.scalar_chain import vanishing

    rng = np.random.default_rng(5)
    w, x = rng.uniform(-1, 1, 8), 0.8
    rep = vanishing(8, ["softplus", "sin"], weights=w, x=x)
    for name, tf in (("softplus", F.softplus), ("sin", torch.sin)):
        ws = torch.tensor(w, requires_grad=True)
        h = torch.tensor(x, dtype=torch.float64)
        for k in range(len(w)):
            h = tf(ws[k] * h)
        (g,) = torch.autograd.grad(h, ws)
        np.testing.assert_allclose(rep[name].autodiff, g.numpy(), rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(rep[name].closed, g.numpy(), rtol=1e-12, atol=1e-300)
    assert main(["vanishing", "--depth", "5", "--activations", "softplus,sin", "--seed", "0"]) == 0
    text = capsys.readouterr().out
    assert "σ = softplus" in text and "σ = sin" in text and "mismatch" not in text


def test_jacobian_chain_of_a_softplus_mlp():
    m = dg.nn.MLP([5, 4, 3], activation="softplus", seed=2)
    x = np.linspace(-1, 1, 5)
    r = dg.explain.jacobian_chain(m, x, 2, dense=True)
    assert r.ok and "softplus" in r.to_markdown()
    (w1, b1), (w2, b2) = [(torch.tensor(np.array(layer.weight.data), dtype=torch.float64),
                           torch.tensor(np.array(layer.bias.data), dtype=torch.float64))
                          for layer in m.layers]
    tx = torch.tensor(x, requires_grad=True)
    logits = F.linear(F.softplus(F.linear(tx, w1, b1)), w2, b2)
    F.cross_entropy(logits[None], torch.tensor([2])).backward()
    for level in ("layer", "fine"):
        np.testing.assert_allclose(r.chains[("x", level)].adjoints[-1].ravel(),
                                   tx.grad.numpy(), rtol=1e-10, atol=1e-12)
