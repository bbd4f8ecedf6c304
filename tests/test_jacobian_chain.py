"""Exercise (c): dg.explain.jacobian_chain — explicit Jacobians vs dg.jacobian, backprop, torch."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import dagrad as dg
from dagrad.nn import MLP

torch = pytest.importorskip("torch")

ATOL = 1e-10
SHEET = [784, 256, 256, 10]


# ----- fixtures and oracles ------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    X, y = dg.data.load_sample("test")
    return X[:8].reshape(8, -1).astype(np.float64) / 255, y[:8]


@pytest.fixture(scope="module")
def sheet_model():
    return MLP(SHEET, activation="tanh", output="softmax", seed=0)


@pytest.fixture(scope="module")
def report(sheet_model, digits):
    X, y = digits
    return dg.explain.jacobian_chain(sheet_model, X[0], int(y[0]), dense=False)


def weights(model):
    return ([np.array(l.weight.data, np.float64) for l in model.layers],
            [np.array(l.bias.data, np.float64) for l in model.layers])


def torch_grads(model, x, y):
    """∇_x L, ∇_b1 L, ∇_W1 L and L = −log softmax(...)_y in float64 PyTorch (copied weights)."""
    Ws, bs = weights(model)
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[model.activation]
    Wt = [torch.tensor(W, requires_grad=True) for W in Ws]
    bt = [torch.tensor(b, requires_grad=True) for b in bs]
    xt = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    z = xt
    for l, (W, b) in enumerate(zip(Wt, bt, strict=True)):
        o = z @ W.T + b
        z = torch.softmax(o, -1) if l == len(Wt) - 1 else act(o)
    L = -torch.log(z[y])
    gx, gb, gW = torch.autograd.grad(L, [xt, bt[0], Wt[0]])
    return gx.numpy(), gb.numpy(), gW.numpy(), L.item()


# ----- the sizes are the sheet's -----------------------------------------------------------------
def test_sizes_layer_level_grad_x(report):
    ch = report.chain("x", "layer")
    assert ch.names == ["J_L(z3)", "J_z3(z2)", "J_z2(z1)", "J_z1(x)"]
    assert ch.shapes == [(1, 10), (10, 256), (256, 256), (256, 784)]
    assert ch.result_shape == (1, 784) and ch.product.shape == (1, 784)
    assert ch.sizes_chain
    assert ch.size_expression() == "1×10 · 10×256 · 256×256 · 256×784 → 1×784"


def test_sizes_fine_level_grad_x(report):
    ch = report.chain("x", "fine")
    assert ch.names == ["J_L(z3)", "J_z3(o3)", "J_o3(z2)", "J_z2(o2)", "J_o2(z1)", "J_z1(o1)",
                        "J_o1(x)"]
    assert ch.shapes == [(1, 10), (10, 10), (10, 256), (256, 256), (256, 256), (256, 256),
                         (256, 784)]
    assert ch.result_shape == (1, 784)


def test_sizes_grad_b1(report):
    fine = report.chain("b1", "fine")
    assert fine.names[-1] == "J_o1(b1)" and fine.shapes[-1] == (256, 256)
    assert fine.shapes[:-1] == report.chain("x", "fine").shapes[:-1]
    assert np.array_equal(fine.factors[-1].matrix, np.eye(256))
    assert fine.result_shape == (1, 256)
    layer = report.chain("b1", "layer")
    assert layer.names == ["J_L(z3)", "J_z3(z2)", "J_z2(z1)", "J_z1(b1)"]
    assert layer.shapes == [(1, 10), (10, 256), (256, 256), (256, 256)]
    assert layer.result_shape == (1, 256)


def test_formulas_and_table(report):
    f = report.factors
    assert f["J_L(z3)"].formula == "−(1/z3_y)·e_yᵀ"
    assert f["J_z3(o3)"].formula.startswith("diag(s) − s·sᵀ")
    assert f["J_z2(o2)"].formula == "diag(1 − tanh²(o2))"
    assert f["J_o2(z1)"].formula == "W^(2)" and f["J_o1(b1)"].formula == "I"
    assert f["J_z3(z2)"].parts == ("J_z3(o3)", "J_o3(z2)")
    rows = report.table()
    assert ("∇_x L (layer)", "J_z1(x)", "diag(1 − tanh²(o1))·W^(1)", "256×784",
            "J_z1(o1) · J_o1(x)") in rows


# ----- every explicit Jacobian equals dg.jacobian of its step -----------------------------------
def test_each_factor_equals_dg_jacobian(sheet_model, digits, report):
    X, y = digits
    x, lab = X[0], int(y[0])
    (W1, W2, W3), (b1, b2, b3) = weights(sheet_model)
    lin = lambda W, b: lambda z: dg.linear(z, W, b)
    o1 = x @ W1.T + b1
    z1 = np.tanh(o1)
    o2 = z1 @ W2.T + b2
    z2 = np.tanh(o2)
    o3 = z2 @ W3.T + b3
    z3 = np.exp(o3 - o3.max()) / np.exp(o3 - o3.max()).sum()
    steps = {  # the steps written here, independently of the module
        "J_L(z3)": (lambda z: -dg.log(z[lab]), z3),
        "J_z3(o3)": (dg.softmax, o3),
        "J_o3(z2)": (lin(W3, b3), z2),
        "J_z2(o2)": (dg.tanh, o2),
        "J_o2(z1)": (lin(W2, b2), z1),
        "J_z1(o1)": (dg.tanh, o1),
        "J_o1(x)": (lin(W1, b1), x),
        "J_o1(b1)": (lambda b: dg.linear(x, W1, b), b1),
        "J_z3(z2)": (lambda z: dg.softmax(dg.linear(z, W3, b3)), z2),
        "J_z2(z1)": (lambda z: dg.tanh(dg.linear(z, W2, b2)), z1),
        "J_z1(x)": (lambda z: dg.tanh(dg.linear(z, W1, b1)), x),
        "J_z1(b1)": (lambda b: dg.tanh(dg.linear(x, W1, b)), b1),
    }
    assert set(steps) == set(report.factors)
    for name, (f, at) in steps.items():
        factor = report.factors[name]
        J = np.asarray(dg.jacobian(f)(at))
        assert J.dtype == np.float64
        np.testing.assert_allclose(J.reshape(factor.shape), factor.matrix, rtol=0, atol=1e-12,
                                   err_msg=name)
        np.testing.assert_allclose(factor.at, at, rtol=0, atol=1e-12, err_msg=name)
    assert report.step_diffs and max(report.step_diffs.values()) < 1e-12


def test_softmax_jacobian_symmetric_rows_sum_zero(report):
    J = report.factors["J_z3(o3)"].matrix
    s = report.probabilities
    np.testing.assert_array_equal(J, J.T)
    np.testing.assert_allclose(J.sum(axis=1), 0, atol=1e-15)
    np.testing.assert_allclose(J, np.diag(s) - np.outer(s, s), atol=0)


# ----- the products equal backprop and PyTorch ---------------------------------------------------
def test_products_equal_backprop_and_torch(sheet_model, digits, report):
    X, y = digits
    gx, gb, gW, L = torch_grads(sheet_model, X[0], int(y[0]))
    assert abs(report.loss - L) < ATOL
    for level in ("layer", "fine"):
        cx, cb = report.chain("x", level), report.chain("b1", level)
        np.testing.assert_allclose(cx.product[0], gx, rtol=0, atol=ATOL)
        np.testing.assert_allclose(cb.product[0], gb, rtol=0, atol=ATOL)
        np.testing.assert_allclose(cx.product, cx.reference, rtol=0, atol=ATOL)
        np.testing.assert_allclose(cb.product, cb.reference, rtol=0, atol=ATOL)
        assert max(cx.adjoint_diffs) < ATOL and max(cb.adjoint_diffs) < ATOL
    # dagrad's own reverse mode, called here directly
    (W1, _, _), (b1, _, _) = weights(sheet_model)
    m64 = MLP(SHEET, output="softmax", seed=0).double()
    g = dg.grad(lambda x, b: -dg.log(m64[2:](dg.tanh(dg.linear(x, W1, b)))[int(y[0])]),
                argnums=(0, 1))(X[0], b1)
    np.testing.assert_allclose(report.grad_x, np.asarray(g[0]), rtol=0, atol=ATOL)
    np.testing.assert_allclose(report.grad_b1, np.asarray(g[1]), rtol=0, atol=ATOL)
    np.testing.assert_allclose(report.grad_W1, gW, rtol=0, atol=ATOL)
    assert report.ok, [c.name for c in report.checks if not c.ok]


def test_adjoints_are_the_running_vjps(report):
    ch = report.chain("x", "fine")
    v = ch.factors[0].matrix
    for f, a in zip(ch.factors[1:], ch.adjoints[1:], strict=True):
        v = v @ f.matrix
        np.testing.assert_array_equal(v, a)
    # the row before J_o1(x) is δ1 = ∇_o1 L = ∇_b1 L
    np.testing.assert_allclose(ch.adjoints[-2], report.chain("b1", "fine").product, atol=0)


# ----- the bonus: tensor and Kronecker forms --------------------------------------------------
def test_bonus_dense_and_kronecker_equal_backprop(sheet_model, digits):
    X, y = digits
    t0 = time.perf_counter()
    r = dg.explain.jacobian_chain(sheet_model, X[1], int(y[1]), dense=True, check_steps=False)
    assert time.perf_counter() - t0 < 10
    w = r.weight
    assert w.tensor_shape == (256, 256, 784) and w.flat_shape == (256, 200_704)
    assert w.nbytes == 256 * 256 * 784 * 8 and round(w.nbytes / 2**20) == 392
    _, _, gW, _ = torch_grads(sheet_model, X[1], int(y[1]))
    for grad in (w.tensor_grad, w.kron):
        np.testing.assert_allclose(grad, w.backprop, rtol=0, atol=ATOL)
        np.testing.assert_allclose(grad, gW, rtol=0, atol=ATOL)
    assert w.flat_vs_kron == 0.0
    assert w.tensor_nnz == 256 * np.count_nonzero(X[1])
    np.testing.assert_allclose(w.tensor_norm, 16 * np.linalg.norm(X[1]), rtol=1e-12)
    np.testing.assert_allclose(w.kron, np.outer(w.delta, X[1]), atol=0)
    assert r.ok
    assert "392 MiB" in r.to_markdown()


def test_bonus_tensor_entries_small_model():
    m = MLP([6, 4, 3], activation="tanh", seed=1)
    x = np.linspace(-1, 1, 6)
    r = dg.explain.jacobian_chain(m, x, 2, dense=True)
    T = r.weight.tensor()
    W1, b1 = (np.array(m.layers[0].weight.data, np.float64),
              np.array(m.layers[0].bias.data, np.float64))
    J = np.asarray(dg.jacobian(lambda W: dg.linear(x, W, b1))(W1))
    np.testing.assert_allclose(T, J, atol=0)                       # ∂o_i/∂W_jk = δ_ij x_k
    np.testing.assert_array_equal(T.reshape(4, 24), np.kron(np.eye(4), x[None, :]))
    np.testing.assert_allclose(np.einsum("i,ijk->jk", r.weight.delta, T), r.weight.backprop,
                               atol=ATOL)


def test_no_dense_uses_the_implicit_kronecker_form(report):
    w = report.weight
    assert not w.dense and w.tensor_grad is None and w.seconds_dense is None
    np.testing.assert_allclose(w.kron, w.backprop, rtol=0, atol=ATOL)
    assert "not built (dense=False)" in report.to_markdown()


def test_dense_limit_is_respected(sheet_model, digits):
    X, y = digits
    with dg.dense_limit(2**20), pytest.raises(dg.MemoryLimitError, match="J_o"):
        dg.explain.jacobian_chain(sheet_model, X[0], int(y[0]), dense=True, check_steps=False)


# ----- output option, other activations and depths --------------------------------------------
def test_output_none_and_softmax_agree(digits):
    X, y = digits
    a = dg.explain.jacobian_chain(MLP(SHEET, output=None, seed=3), X[2], int(y[2]), dense=False,
                                  check_steps=False)
    b = dg.explain.jacobian_chain(MLP(SHEET, output="softmax", seed=3), X[2], int(y[2]),
                                  dense=False, check_steps=False)
    assert a.spec.output is None and b.spec.output == "softmax"
    assert a.loss == b.loss and a.loss_backprop == pytest.approx(b.loss_backprop, abs=1e-15)
    assert a.chain("x", "fine").names == b.chain("x", "fine").names  # softmax is a step in both
    for t in ("x", "b1"):
        np.testing.assert_allclose(a.chain(t, "fine").product, b.chain(t, "fine").product,
                                   atol=1e-15)
        np.testing.assert_allclose(a.chain(t, "fine").reference, b.chain(t, "fine").reference,
                                   atol=1e-15)
    assert a.ok and b.ok


@pytest.mark.parametrize("sizes,activation", [([784, 32, 10], "sigmoid"),
                                              ([784, 48, 24, 16, 10], "relu"),
                                              ([784, 10], "tanh")])
def test_other_depths_and_activations(digits, sizes, activation):
    X, y = digits
    m = MLP(sizes, activation=activation, output="softmax", seed=2)
    r = dg.explain.jacobian_chain(m, X[3], int(y[3]), dense=False)
    assert r.ok, [(c.name, c.value) for c in r.checks if not c.ok]
    n = len(sizes) - 1
    assert r.chain("x", "layer").names == [f"J_L(z{n})"] + [
        f"J_z{l}(z{l - 1})" if l > 1 else "J_z1(x)" for l in range(n, 0, -1)]
    assert len(r.chain("x", "fine").factors) == 2 * n + 1
    gx, gb, gW, _ = torch_grads(m, X[3], int(y[3]))
    np.testing.assert_allclose(r.grad_x, gx, rtol=0, atol=ATOL)
    np.testing.assert_allclose(r.grad_b1, gb, rtol=0, atol=ATOL)
    np.testing.assert_allclose(r.grad_W1, gW, rtol=0, atol=ATOL)
    for name, f in r.factors.items():
        J = np.asarray(dg.jacobian(f.step)(f.at)).reshape(f.shape)
        np.testing.assert_allclose(J, f.matrix, rtol=0, atol=1e-12, err_msg=name)


# ----- batches -----------------------------------------------------------------------------------
def test_batch_per_sample_and_mean_gradients(digits):
    X, y = digits
    m = MLP(SHEET, output=None, seed=4)
    r = dg.explain.jacobian_chain(m, X[:5], y[:5])
    assert r.n == 5 and r.grad_x.shape == (5, 784) and r.grad_b1.shape == (5, 256)
    assert r.example.shapes[-1] == (256, 784) and r.example.result_shape == (1, 784)
    m64 = MLP(SHEET, output=None, seed=4).double()
    W1, b1 = m64.layers[0].weight, m64.layers[0].bias
    rest = m64[1:]

    def loss(x, W, b, lab):
        return dg.cross_entropy(rest(dg.linear(x, W, b)), lab)

    for n in range(5):  # per-sample backprop, one sample at a time
        gx, gW, gb = dg.grad(loss, argnums=(0, 1, 2))(X[n], W1.data, b1.data, int(y[n]))
        np.testing.assert_allclose(r.grad_x[n], np.asarray(gx), rtol=0, atol=ATOL)
        np.testing.assert_allclose(r.grad_b1[n], np.asarray(gb), rtol=0, atol=ATOL)
        np.testing.assert_allclose(r.grad_W1(n), np.asarray(gW), rtol=0, atol=ATOL)
    gX, gW, gb = dg.grad(loss, argnums=(0, 1, 2))(X[:5], W1.data, b1.data, y[:5])
    np.testing.assert_allclose(r.mean_grad_x, np.asarray(gX), rtol=0, atol=ATOL)
    np.testing.assert_allclose(r.mean_grad_W1, np.asarray(gW), rtol=0, atol=ATOL)
    np.testing.assert_allclose(r.mean_grad_b1, np.asarray(gb), rtol=0, atol=ATOL)
    assert r.mean_loss == pytest.approx(float(loss(X[:5], W1.data, b1.data, y[:5]).item()),
                                        abs=1e-12)
    assert r.ok
    one = r.sample(2)
    np.testing.assert_allclose(one.grad_x, r.grad_x[2], atol=ATOL)
    md = r.to_markdown()
    assert "no dense Jacobian over the batch" in md and "block-diagonal" in md
    tex = r.to_latex()
    assert tex.isascii() and _balanced(tex)
    assert "<td>" in r._repr_html_()


def test_batch_refuses_dense(sheet_model, digits):
    X, y = digits
    with pytest.raises(ValueError, match="dense=True"):
        dg.explain.jacobian_chain(sheet_model, X[:2], y[:2], dense=True)


# ----- clear errors ---------------------------------------------------------------------------
def test_errors(sheet_model, digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"\(784,\).*\(783,\)"):
        dg.explain.jacobian_chain(sheet_model, X[0][:783], 1)
    with pytest.raises(ValueError, match="label 10 .*0-based.*label \\+ 1"):
        dg.explain.jacobian_chain(sheet_model, X[0], 10)
    with pytest.raises(ValueError, match="label -1"):
        dg.explain.jacobian_chain(sheet_model, X[0], -1)
    with pytest.raises(TypeError, match="MLP"):
        dg.explain.jacobian_chain(dg.nn.Sequential(dg.nn.Linear(784, 10)), X[0], 1)
    with pytest.raises(TypeError, match="integers"):
        dg.explain.jacobian_chain(sheet_model, X[0], 1.5)
    with pytest.raises(ValueError, match="labels of shape"):
        dg.explain.jacobian_chain(sheet_model, X[:2], 1)
    with pytest.raises(ValueError, match="NaN"):
        dg.explain.jacobian_chain(sheet_model, np.full(784, np.nan), 1)


# ----- rendering ---------------------------------------------------------------------------------
def _balanced(tex: str) -> bool:
    depth = 0
    for i, c in enumerate(tex):
        if c in "{}" and (i == 0 or tex[i - 1] != "\\"):
            depth += 1 if c == "{" else -1
            if depth < 0:
                return False
    envs = re.findall(r"\\(begin|end)\{(\w+\*?)\}", tex)
    stack = []
    for kind, name in envs:
        if kind == "begin":
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return depth == 0 and not stack and tex.count(r"\[") == tex.count(r"\]")


def test_markdown_html_and_text(sheet_model, digits):
    X, y = digits
    r = dg.explain.jacobian_chain(sheet_model, X[0], int(y[0]), dense=False, check_steps=False,
                                  description="at <init> & \"untrained\"")
    md = r.to_markdown(dag_path="dag.svg")
    for s in ("1×10 · 10×256 · 256×256 · 256×784 → 1×784", "J_z3(o3)", "diag(s) − s·sᵀ",
              "δ_ij·(1 − tanh²(o_i))", "s_i(δ_ij − s_j)", "vector–Jacobian product",
              f"y = label + 1 = {int(y[0]) + 1}", "![the layer-level DAG](dag.svg)",
              "I_256 ⊗ xᵀ", "256 × 200,704", "δ1 ⊗ x"):
        assert s in md, s
    assert len(md) < 40_000  # summarised, not dumped
    h = r._repr_html_()
    assert "&lt;init&gt; &amp; &quot;untrained&quot;" in h and "<init>" not in h
    text = str(r)
    assert "J_z1(x)   diag(1 − tanh²(o1))·W^(1)  256×784" in text
    assert "checks:" in text


def test_latex_is_ascii_balanced_and_compiles(report, tmp_path):
    tex = report.to_latex()
    assert tex.isascii() and _balanced(tex)
    for s in (r"\delta_{ij}", r"s_i(\delta_{ij} - s_j)", r"I_{256} \otimes x^\top",
              r"\begin{document}", r"\end{document}"):
        assert s in tex, s
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed (the LaTeX was checked for balance only)")
    (tmp_path / "r.tex").write_text(tex)
    res = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "r.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout[-2000:]
    assert (tmp_path / "r.pdf").stat().st_size > 10_000


def test_dag_dot_and_render(report, tmp_path):
    pytest.importorskip("graphviz")
    dot = report.dag_dot()
    for node in ("x", "z1", "z2", "z3", "L", "y"):
        assert re.search(rf"^\s*{node} \[", dot, re.M), node
    assert "x -> z1" in dot and "z3 -> L" in dot and "y -> L" in dot and "o1" not in dot
    fine = report.dag_dot("fine")
    assert "x -> o1" in fine and "W1 -> o1" in fine and "b1 -> o1" in fine
    with pytest.raises(ValueError, match="suffix|picture type"):
        report.render_dag(tmp_path / "dag.gif")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' not installed")
    svg = report.render_dag(tmp_path / "dag.svg")
    assert open(svg, encoding="utf-8").read().lstrip().startswith("<?xml")
    png = report.render_dag(tmp_path / "dag.png", level="fine")
    assert open(png, "rb").read(4) == b"\x89PNG"


# ----- command line and import cost --------------------------------------------------------------
def test_cli_writes_the_report(tmp_path, capsys):
    from dagrad.cli import main

    rc = main(["mlp-jacobians", "--no-dense", "--digit-index", "5", "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    for name in ("report.md", "report.tex", "report.html"):
        assert (tmp_path / name).stat().st_size > 1000, name
    if shutil.which("dot"):
        assert (tmp_path / "dag.svg").exists()
    assert "J_z3(z2)  (diag(s) − s·sᵀ)·W^(3)     10×256" in out
    assert "at initialisation" in out and "dense tensor skipped" in out
    assert re.search(r"checks: (\d+) of \1 pass", out)
    assert main(["mlp-jacobians", "--digit-index", "99999", "-o", str(tmp_path)]) == 2
    capsys.readouterr()
    rc = main(["mlp-jacobians", "--no-dense", "--train-steps", "3", "-o", str(tmp_path / "t")])
    out = capsys.readouterr().out
    assert rc == 0 and "trained briefly: 3 SGD steps" in out
    assert "trained briefly" in (tmp_path / "t" / "report.md").read_text()


def test_import_dagrad_stays_light():
    code = ("import sys, dagrad; print(any(m.startswith('dagrad.explain') for m in sys.modules),"
            " 'graphviz' in sys.modules, 'sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "False"]


def test_callable_whatever_the_import_order():
    code = ("import numpy as np, dagrad.explain.mlp_jacobians.explainer as mod, dagrad as dg\n"
            "m = dg.nn.MLP([5, 3, 2], seed=0)\n"
            "print(dg.explain.jacobian_chain(m, np.ones(5), 1, dense=False).ok,"
            " mod.jacobian_chain(m, np.ones(5), 0, dense=False).ok)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True"]
    assert dg.explain.jacobian_chain(MLP([5, 3, 2], seed=0), np.ones(5), 1).ok
