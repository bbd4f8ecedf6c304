"""Exercise (c): every product the report displays is computable with the sizes it displays.

One convention from start to end, the sheet's: the gradient of the scalar L is a row (∇_x L is
1×784, δ1 = ∇_o1 L is 1×256).  Each displayed product is taken as data (factor names, displayed
sizes, values), every factor reshaped to its displayed size, multiplied in the displayed order
here (not by the report's own code) and compared with PyTorch in float64.
"""

from __future__ import annotations

import html
import re
from functools import reduce

import numpy as np
import pytest

import dagrad as dg
from dagrad.nn import MLP

torch = pytest.importorskip("torch")

SHEET = [784, 256, 256, 10]
ATOL = 1e-10


@pytest.fixture(scope="module")
def digit():
    X, y = dg.data.load_sample("test")
    return X[0].reshape(-1).astype(np.float64) / 255, int(y[0])


@pytest.fixture(scope="module")
def model():
    return MLP(SHEET, activation="tanh", output="softmax", seed=0)


@pytest.fixture(scope="module")
def report(model, digit):
    x, y = digit
    return dg.explain.jacobian_chain(model, x, y, dense=True)


def torch_oracle(model, x, y):
    """PyTorch float64 on copied weights: ∇_x L, ∇_b1 L, ∇_o1 L, ∇_W1 L."""
    Ws = [torch.tensor(np.array(l.weight.data, np.float64), requires_grad=True)
          for l in model.layers]
    bs = [torch.tensor(np.array(l.bias.data, np.float64), requires_grad=True)
          for l in model.layers]
    xt = torch.tensor(x, requires_grad=True)
    z, o1 = xt, None
    for l, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        o = W @ z + b
        if l == 0:
            o1 = o
            o1.retain_grad()
        z = torch.softmax(o, 0) if l == len(Ws) - 1 else torch.tanh(o)
    L = -torch.log(z[y])
    L.backward()
    return {"x": xt.grad.numpy(), "b1": bs[0].grad.numpy(), "o1": o1.grad.numpy(),
            "W1": Ws[0].grad.numpy()}


def evaluate_as_displayed(p) -> np.ndarray:
    """Each factor reshaped to its displayed size, multiplied left to right as displayed."""
    arrays = []
    for f in p.factors:
        v = np.asarray(f.values() if callable(f.values) else f.values)
        assert v.size == int(np.prod(f.shape)), (p.lhs, f.name, f.shape, v.shape)
        arrays.append(v.reshape(f.shape))
    for a, b in zip(arrays, arrays[1:], strict=False):
        if p.op == "·":  # a matrix (or tensor) product needs matching inner sizes
            assert a.shape[-1] == b.shape[0], f"{p.text()}: {a.shape} · {b.shape}"
    if p.op == "⊗":
        out = reduce(np.kron, arrays)
    else:
        out = reduce(lambda a, b: np.tensordot(a, b, axes=1), arrays)
    assert out.shape == p.shape, f"{p.text()}: the factors give {out.shape}"
    return out


def expected(p, oracle: dict, x: np.ndarray) -> np.ndarray:
    """PyTorch's value of the displayed left-hand side, at its displayed size."""
    n, m = oracle["W1"].shape
    values = {"∇_x L": oracle["x"], "∇_b1 L": oracle["b1"], "δ1 = ∇_o1 L": oracle["o1"],
              "vec(∇_W1 L)": oracle["W1"], "∇_W1 L": oracle["W1"], "J_L(W1)": oracle["W1"],
              "J_o1(W1)": np.einsum("ij,k->ijk", np.eye(n), x)}   # ∂o1_i/∂W1_jk = δ_ij x_k
    return values[p.lhs].reshape(p.shape)


def test_every_displayed_product_is_computable_and_equals_pytorch(report, model, digit):
    x, y = digit
    oracle = torch_oracle(model, x, y)
    products = report.products()
    assert {p.lhs for p in products} == {"∇_x L", "∇_b1 L", "δ1 = ∇_o1 L", "J_o1(W1)",
                                         "vec(∇_W1 L)", "∇_W1 L", "J_L(W1)"}
    for p in products:
        got = evaluate_as_displayed(p)
        np.testing.assert_allclose(got, expected(p, oracle, x), rtol=0, atol=ATOL,
                                   err_msg=p.text())
        if p.reference is not None:  # and the report's own oracle, dagrad's backprop
            np.testing.assert_allclose(got, p.reference.reshape(p.shape), rtol=0, atol=ATOL,
                                       err_msg=p.text())


def test_one_convention_gradients_are_rows(report):
    by = {(p.lhs, p.op, tuple(f.name for f in p.factors)): p for p in report.products()}
    assert report.chain("x", "layer").display().shape == (1, 784)
    assert report.chain("b1", "fine").display().shape == (1, 256)
    delta = by[("δ1 = ∇_o1 L", "·", ("J_L(z3)", "J_z3(o3)", "J_o3(z2)", "J_z2(o2)",
                                      "J_o2(z1)", "J_z1(o1)"))]
    assert delta.shape == (1, 256)
    for p in report.products():  # δ1 enters every product as the 1×256 row (or its 256×1 ᵀ)
        for f in p.factors:
            if f.name.startswith("δ1"):
                assert f.shape == ((256, 1) if f.name == "δ1ᵀ" else (1, 256)), p.text()
    texts = {p.text() for p in report.products()}
    for t in ("J_o1(W1) (256×200,704) = I_256 (256×256) ⊗ xᵀ (1×784)",
              "vec(∇_W1 L) (1×200,704) = δ1 (1×256) · J_o1(W1) (256×200,704)",
              "vec(∇_W1 L) (1×200,704) = δ1 (1×256) ⊗ xᵀ (1×784)",
              "∇_W1 L (256×784) = δ1ᵀ (256×1) · xᵀ (1×784)",
              "J_L(W1) (1×256×784) = δ1 (1×256) · J_o1(W1) (256×256×784)"):
        assert t in texts, t


def test_every_rendering_shows_the_products_it_computes(report):
    renderings = {"text": str(report), "markdown": report.to_markdown()}
    page = html.unescape(report.to_html())  # the HTML typesets the LaTeX form (KaTeX)
    tex = report.to_latex()
    for p in report.products():
        for name, text in renderings.items():
            assert p.text() in text, (name, p.text())
        assert p.tex() in tex, p.tex()
        assert p.tex() in page, p.tex()
    renderings["html"] = page
    for name, text in {**renderings, "latex": tex}.items():
        # the product the sheet grades: a transposed 1×256 row times a 256-row matrix
        assert "δ1ᵀ · J" not in text and "δ1ᵀ(I" not in text, name
        assert r"\delta^{(1)\top} J" not in text and r"\delta^{(1)\top} (I" not in text, name


_SIZE = r"\(([\d,]+(?:×[\d,]+)+)\)"
_FACTOR = re.compile(_SIZE + r" ([·⊗]) [^·⊗\n]*? " + _SIZE)


def _underset_as_text(tex: str) -> str:
    r"""``\underset{(p \times q)}{A} \cdot …`` written as the text's ``A (p×q) · …``."""
    out, pos, key = [], 0, r"\underset{("
    while (start := tex.find(key, pos)) >= 0:
        out.append(tex[pos:start])
        size_end = tex.index(")}{", start)
        size = tex[start + len(key):size_end].replace(r" \times ", "×").replace("{,}", ",")
        depth, k = 1, size_end + 3
        while depth:
            depth += {"{": 1, "}": -1}.get(tex[k], 0)
            k += 1
        out.append(f"{tex[size_end + 3:k - 1]} ({size})")
        pos = k
    out.append(tex[pos:])
    return "".join(out).replace(r" \cdot ", " · ").replace(r" \otimes ", " ⊗ ")


def test_every_sized_product_in_the_text_chains(report):
    """Scan the rendered text itself: in every "A (p×q) · B (r×s)", q = r (the HTML's products
    are LaTeX for KaTeX: their sizes are read from the underset commands)."""
    page = _underset_as_text(html.unescape(report.to_html()))
    for text in (str(report), report.to_markdown(), page):
        pairs = 0
        for line in text.splitlines():
            pos = 0
            while (m := _FACTOR.search(line, pos)) is not None:
                left = [int(d.replace(",", "")) for d in m.group(1).split("×")]
                right = [int(d.replace(",", "")) for d in m.group(3).split("×")]
                if m.group(2) == "·":
                    assert left[-1] == right[0], line
                pairs += 1
                pos = m.start(3) - 1
        assert pairs >= sum(len(p.factors) - 1 for p in report.products())


def test_a_product_whose_sizes_do_not_chain_is_refused():
    from dagrad.explain.mlp_jacobians.products import Operand, Product

    row = Operand("δ1ᵀ", r"\delta^\top", (4, 1), np.ones(4))
    J = Operand("J", "J", (4, 12), np.ones((4, 12)))
    bad = Product("g", "g", (1, 12), [row, J])
    assert not bad.computable
    with pytest.raises(ValueError, match=r"cannot multiply δ1ᵀ \(4×1\) by J \(4×12\)"):
        bad.evaluate()
    with pytest.raises(ValueError, match="displayed as 2×3 .*6 entries.* 4 values"):
        Operand("v", "v", (2, 3), np.ones(4)).array()
    good = Product("g", "g", (1, 12), [Operand("δ1", r"\delta", (1, 4), np.arange(4.0)), J])
    np.testing.assert_array_equal(good.evaluate(), np.arange(4.0)[None, :] @ np.ones((4, 12)))
    with pytest.raises(ValueError, match="displayed as 1×5 but the factors give 1×12"):
        Product("g", "g", (1, 5), good.factors).evaluate()


def test_small_model_jacobian_of_the_weights_equals_pytorch():
    m = MLP([6, 4, 3], activation="tanh", output="softmax", seed=1)
    x = np.linspace(-1, 1, 6)
    r = dg.explain.jacobian_chain(m, x, 2, dense=True)
    W1 = torch.tensor(np.array(m.layers[0].weight.data, np.float64))
    b1 = torch.tensor(np.array(m.layers[0].bias.data, np.float64))
    J = torch.autograd.functional.jacobian(lambda W: W @ torch.tensor(x) + b1, W1).numpy()
    by = {(p.lhs, p.op): p for p in r.products()}
    np.testing.assert_allclose(evaluate_as_displayed(by[("J_o1(W1)", "⊗")]), J.reshape(4, 24),
                               rtol=0, atol=0)
    tensor = by[("J_L(W1)", "·")].factors[1]
    np.testing.assert_allclose(tensor.array(), J, rtol=0, atol=0)
