"""Exercise (a): the chain h_i = σ(w_i h_{i−1}) — autodiff vs closed form vs bound vs PyTorch —
and Glorot & Bengio's gradient flow in a deep MLP on real digits; the CLI."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import dagrad as dg
from dagrad.cli import main
from dagrad.explain.vanishing_chain.flow import _build, gradient_flow
from dagrad.explain.vanishing_chain.scalar_chain import activation, vanishing
from dagrad.expression import ExpressionError

torch = pytest.importorskip("torch")

SOFTSIGN = "x / (1 + abs(x))"
ALL = ["sigmoid", "tanh", "relu", "leaky_relu", "leaky_relu:0.1", SOFTSIGN]


# --------------------------------------------------------------------------- reference code


def sigmoid(u):
    return 1 / (1 + np.exp(-u))


SIGMA = {  # (σ, σ') written independently of the module under test
    "sigmoid": (sigmoid, lambda u: sigmoid(u) * (1 - sigmoid(u))),
    "tanh": (np.tanh, lambda u: 1 - np.tanh(u) ** 2),
    "relu": (lambda u: np.maximum(u, 0), lambda u: (u > 0) * 1.0),
    "leaky_relu": (lambda u: np.where(u > 0, u, 0.01 * u), lambda u: np.where(u > 0, 1, 0.01)),
    "leaky_relu:0.1": (lambda u: np.where(u > 0, u, 0.1 * u), lambda u: np.where(u > 0, 1, 0.1)),
    SOFTSIGN: (lambda u: u / (1 + np.abs(u)), lambda u: 1 / (1 + np.abs(u)) ** 2),
}


def direct_closed_form(act: str, w: np.ndarray, x: float = 1.0):
    """Vectorised over leading axes of w (…, n): (h (…, n+1), ∂h_n/∂w_i (…, n)) in plain float."""
    f, df = SIGMA[act]
    n = w.shape[-1]
    h = [np.broadcast_to(np.float64(x), w.shape[:-1])]
    for k in range(n):
        h.append(f(w[..., k] * h[-1]))
    h = np.stack(h, -1)
    d = df(w * h[..., :-1])
    g = np.empty_like(w)
    tail = np.ones(w.shape[:-1])
    for i in range(n - 1, -1, -1):
        g[..., i] = h[..., i] * d[..., i] * tail
        tail = tail * w[..., i] * d[..., i]
    return h, g


def torch_chain(act: str, w: np.ndarray, x: float) -> np.ndarray:
    """∂h_n/∂w_i by PyTorch autograd on the same chain (float64)."""
    fns = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
           "leaky_relu": lambda u: torch.nn.functional.leaky_relu(u, 0.01),
           "leaky_relu:0.1": lambda u: torch.nn.functional.leaky_relu(u, 0.1),
           SOFTSIGN: lambda u: u / (1 + torch.abs(u))}
    ws = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    h = torch.tensor(x, dtype=torch.float64)
    for k in range(len(w)):
        h = fns[act](ws[k] * h)
    (g,) = torch.autograd.grad(h, ws)
    return g.numpy()


# --------------------------------------------------------------------------- the chain


@pytest.mark.parametrize("n", [1, 2, 7, 20, 50])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_autodiff_equals_closed_form(n, seed):
    """All activations; random U(−1, 1) weights; relu/leaky also on an active chain (|w|)."""
    for signs in ("random", "positive"):
        rng = np.random.default_rng(seed)
        w = rng.uniform(-1, 1, n)
        if signs == "positive":
            w = np.abs(w)
        rep = vanishing(n, ALL, weights=w, x=0.9)
        for act in ALL:
            r = rep[act]
            np.testing.assert_allclose(r.autodiff, r.closed, rtol=1e-10, atol=0)
            _, g = direct_closed_form(act, w, 0.9)
            np.testing.assert_allclose(r.autodiff, g, rtol=1e-10, atol=1e-300)
            assert set(r.flags) <= {"ok", "dead", "zero"}, (act, r.flags)
            if signs == "positive" and act == "relu":
                assert r.dead_layer is None and np.all(r.autodiff != 0)


@pytest.mark.parametrize("seed", [3, 4])
def test_autodiff_equals_pytorch(seed):
    rng = np.random.default_rng(seed)
    for n in (5, 30):
        w = rng.uniform(-1, 1, n)
        x = float(rng.uniform(-2, 2))
        rep = vanishing(n, ALL, weights=w, x=x)
        for act in ALL:
            np.testing.assert_allclose(rep[act].autodiff, torch_chain(act, w, x), rtol=1e-12,
                                       atol=1e-300)


def test_all_layers_from_one_backward_pass(monkeypatch):
    """Every ∂h_n/∂w_i comes from a single reverse sweep over the recorded chain."""
    from dagrad import autodiff

    calls = []
    real = autodiff.backprop
    monkeypatch.setattr(autodiff, "backprop", lambda *a, **k: calls.append(1) or real(*a, **k))
    vanishing(12, "tanh", seed=0)
    assert len(calls) == 1


def test_default_weights_are_uniform_minus_one_one_and_seeded():
    a, b = vanishing(50, "sigmoid", seed=7), vanishing(50, "sigmoid", seed=7)
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.weights, np.random.default_rng(7).uniform(-1, 1, 50))
    assert np.all(np.abs(a.weights) < 1)
    c = vanishing(5, "sigmoid")  # a fresh seed, recorded
    assert isinstance(c.seed, int)
    np.testing.assert_array_equal(c.weights, vanishing(5, "sigmoid", seed=c.seed).weights)


def test_sigmoid_bound_holds_on_1000_random_draws():
    rng = np.random.default_rng(0)
    n = 12
    w = rng.uniform(-1, 1, (1000, n))
    h, g = direct_closed_form("sigmoid", w, 1.0)
    i = np.arange(1, n + 1)
    bound = np.abs(h[:, :-1]) * 0.25 ** (n - i + 1)
    ratio = np.abs(g) / bound
    assert np.all(ratio <= 1)
    assert np.all(np.abs(g[:, 1:]) <= 0.25 ** (n - i[1:] + 1))  # the coarse bound, i ≥ 2
    # below the top layer the bound is never approached (sup ≈ 0.943 for i = n − 1)
    assert ratio[:, :-1].max() < 0.95
    for k in range(20):  # and the explainer agrees, autodiff included, on a subset
        r = vanishing(n, "sigmoid", weights=w[k])["sigmoid"]
        assert r.bound_holds
        np.testing.assert_allclose(r.ratio, ratio[k], rtol=1e-9)
        np.testing.assert_allclose(r.log10_coarse_bound, -(n - i + 1) * math.log10(4))


def test_sigmoid_bound_approached_only_at_the_top_layer():
    """w_n → 0 gives ratio → 1 at i = n; for i < n it stays bounded away from 1, even with the
    other weights pushed to the edge |w_k| → 1 where each factor |w_k| σ' is largest."""
    rng = np.random.default_rng(1)
    for eps in (1e-2, 1e-4, 1e-6):
        w = rng.uniform(-1, 1, 10)
        w[-1] = eps
        r = vanishing(10, "sigmoid", weights=w)["sigmoid"]
        assert 1 - r.ratio[-1] < eps
    best_lower = 0.0
    for signs in rng.choice([-1.0, 1.0], (200, 8)):
        for wi in (1e-6, -0.3, 0.5):
            w = 0.999999 * signs
            w[-2] = wi  # i = n − 1 with u_{n−1} near its best value
            r = vanishing(8, "sigmoid", weights=w)["sigmoid"]
            best_lower = max(best_lower, float(np.max(r.ratio[:-1])))
    assert 0.85 < best_lower < 0.9435


def test_tanh_and_relu_bounds():
    rng = np.random.default_rng(2)
    w = rng.uniform(-1, 1, 15)
    rep = vanishing(15, ["tanh", "relu"], weights=np.abs(w))
    assert rep["tanh"].bound_holds
    np.testing.assert_allclose(rep["relu"].ratio, 1.0, rtol=1e-12)  # equality on an active chain
    # |∂h_n/∂w_i| = |x| ∏_{k≠i} |w_k| for relu: no decay with i from the activation
    prod = np.prod(np.abs(w))
    np.testing.assert_allclose(np.abs(rep["relu"].autodiff), prod / np.abs(w), rtol=1e-12)


def test_relu_negative_preactivation_kills_the_whole_chain():
    w = np.full(10, 0.8)
    w[3] = -0.5
    rep = vanishing(10, ["relu", "leaky_relu"], weights=w)
    r = rep["relu"]
    assert r.output == 0.0
    assert np.all(r.autodiff == 0) and np.all(r.closed == 0)
    assert r.dead_layer == 4
    assert set(r.flags) == {"dead"}
    assert any("dead at layer 4" in s for s in r.summary())
    assert "dead at layer 4" in str(rep)
    leaky = rep["leaky_relu"]  # leaky: a factor 0.01, never exactly 0
    assert leaky.dead_layer is None and np.all(leaky.autodiff != 0)
    # a negative input dies at layer 1
    assert vanishing(3, "relu", weights=0.5, x=-1.0)["relu"].dead_layer == 1


def test_user_expression_softsign_matches_its_closed_form():
    rng = np.random.default_rng(5)
    w = rng.uniform(-1, 1, 25)
    r = vanishing(25, SOFTSIGN, weights=w, x=1.3)[SOFTSIGN]
    assert r.activation.kind == "expression"
    u = r.u
    np.testing.assert_allclose(r.derivative, 1 / (1 + np.abs(u)) ** 2, rtol=1e-14)
    _, g = direct_closed_form(SOFTSIGN, w, 1.3)
    np.testing.assert_allclose(r.autodiff, g, rtol=1e-10)
    # sup|σ'| = 1 (at 0), exactly by SymPy: the bound is |h_(i-1)| ∏_(k>i) |w_k|, as for tanh
    sym = r.activation.sym
    assert sym.sup == 1.0 and sym.sup_exact
    h, _ = direct_closed_form(SOFTSIGN, w, 1.3)
    tail = np.array([np.prod(np.abs(w[i + 1:])) for i in range(25)])
    np.testing.assert_allclose(r.bound, np.abs(h[:-1]) * tail, rtol=1e-12)
    assert r.bound_holds and r.ok


def test_sigmoid_n2000_reports_underflow_cleanly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = vanishing(2000, ["sigmoid", "tanh"], weights=0.5)
        text = str(rep) + rep.to_markdown()
    r = rep["sigmoid"]
    assert "underflow" in r.flags and "underflow" in text
    assert np.all(np.isfinite(r.log10_abs)) and not np.any(np.isnan(r.autodiff))
    uf = r.underflow_layers
    assert uf[0] == 1 and np.all(r.autodiff[uf - 1] == 0)
    assert r.log10_abs[0] < -1000  # ≈ 2000·log10(0.5·σ'(·)) far below float64
    # constant weights: h converges, so log10|g| falls by the same amount per layer — and the
    # log-space values continue the float64 ones across the underflow boundary
    step = np.diff(r.log10_abs)
    np.testing.assert_allclose(step[40:], step[-1], rtol=1e-9)
    assert r.bound_holds and "-inf" not in text and "nan" not in text
    tanh = rep["tanh"]  # h itself underflows; the log-space forward still knows it
    assert np.all(np.isfinite(tanh.log10_h)) and "zero" not in tanh.flags


def test_bad_activations_and_arguments():
    for bad in ("softsign", "x +* 2", "leaky_relu:abc", "y * 2", "__import__('os')"):
        with pytest.raises(ExpressionError):
            activation(bad)
    assert activation("tanh(x)").kind == "tanh"
    assert activation("leaky_relu:-0.5").slope == -0.5
    with pytest.raises(ValueError):
        vanishing(0, "tanh")
    with pytest.raises(ValueError):
        vanishing(3, "tanh", weights=[0.5, 0.5])
    with pytest.raises(ValueError):
        vanishing(3, ["tanh", "tanh"])


def test_report_formats(tmp_path):
    rep = vanishing(8, ["sigmoid", "relu", SOFTSIGN], seed=3)
    md = rep.to_markdown()
    assert "## Derivation" in md and "| i |" in md and "4^{-(n-i+1)}" in md
    html = rep._repr_html_()
    assert html.count("<table>") == 3 and "<pre>" in html
    tex = rep.to_latex()
    assert tex.startswith(r"\documentclass") and r"\end{document}" in tex
    assert "Answer to question 2" in rep.derivation("text")
    assert "n = 8" in rep.derivation("markdown")
    for suffix in (".png", ".svg"):
        p = rep.plot(tmp_path / f"v{suffix}")
        assert (tmp_path / f"v{suffix}").stat().st_size > 1000, p
    assert (tmp_path / "v.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        rep.plot(tmp_path / "v.pdf")
    if shutil.which("pdflatex"):
        (tmp_path / "r.tex").write_text(tex)
        res = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "r.tex"],
                             cwd=tmp_path, capture_output=True, timeout=120)
        assert res.returncode == 0, res.stdout[-2000:]


def test_import_stays_light():
    code = ("import sys, dagrad, dagrad.explain.vanishing_chain.scalar_chain, "
            "dagrad.explain.vanishing_chain.flow; "
            "print(any(m in sys.modules for m in ('matplotlib', 'sympy', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


# --------------------------------------------------------------------------- gradient flow


def test_init_formulas_are_glorot_and_bengios():
    for init, bound in (("standard", lambda i, o: 1 / math.sqrt(i)),
                        ("xavier", lambda i, o: math.sqrt(6) / math.sqrt(i + o))):
        model = _build(3, 64, "tanh", init, seed=0)
        for lin in model.layers:
            o, i = lin.weight.shape
            b = bound(i, o)
            a = np.abs(lin.weight.data)
            assert a.max() <= b and a.max() > 0.95 * b and abs(a.mean() - b / 2) < 0.05 * b
            assert np.all(lin.bias.data == 0)
    he = _build(3, 64, "relu", "he", seed=0).layers[1].weight.data
    assert abs(he.std() - math.sqrt(2 / 64)) < 0.05 * math.sqrt(2 / 64)


def test_glorot_bengio_ratios_point_the_right_way():
    rep = gradient_flow(depth=10, activations="tanh", inits=("standard", "xavier"), batch=64,
                        steps=3, seed=0)
    std, xav = rep.case(10, "tanh", "standard"), rep.case(10, "tanh", "xavier")
    rs, rx = std.ratio("backprop"), xav.ratio("backprop")
    assert rs < 0.05 and rs < rx and 0.3 < rx < 2
    # back-propagated gradients shrink monotonically toward the input with the standard init
    assert np.all(np.diff(std.backprop["init"][:10]) > 0)
    # the weight gradients stay of similar size across the hidden layers in both cases
    for c in (std, xav):
        w = c.weight["init"][1:10]
        assert w.max() / w.min() < 2.0
        assert 0.3 < c.ratio("weight") < 5
    assert len(std.backprop["trained"]) == 11 and set(std.loss) == {"init", "trained"}
    assert "as Glorot & Bengio" in str(rep)


def test_gradient_flow_report(tmp_path):
    rep = gradient_flow(depth=[2, 3], activations=["relu", "sigmoid"], inits="he", width=16,
                        batch=16, steps=1)
    assert len(rep.cases) == 4
    assert rep.to_markdown().count("\n| ") >= 4 and "<table>" in rep._repr_html_()
    assert rep.to_latex().startswith(r"\documentclass")
    rep.plot(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
    with pytest.raises(ValueError):
        gradient_flow(depth=3, inits="orthogonal", steps=0)


# --------------------------------------------------------------------------- CLI


def test_cli_chain(tmp_path, capsys):
    out = tmp_path / "v.png"
    assert main(["vanishing", "--depth", "20", "--activations", "sigmoid,tanh,relu", "--seed", "0",
                 "-o", str(out), "--markdown", str(tmp_path / "v.md")]) == 0
    text = capsys.readouterr().out
    assert "σ = sigmoid" in text and "Question 2" in text and "dead at layer" in text
    assert out.stat().st_size > 1000 and (tmp_path / "v.md").read_text().startswith("# ")
    assert main(["vanishing", "--depth", "4", "--weights", "0.5,0.4,0.3,0.2", "--activations",
                 f"relu,{SOFTSIGN},leaky_relu(x, 0.2)", "-o", str(tmp_path / "v.svg")]) == 0
    assert (tmp_path / "v.svg").read_text().lstrip().startswith("<?xml")


def test_cli_bad_activation_exits_2(capsys):
    assert main(["vanishing", "--activations", "sigmoid,x +* 2"]) == 2
    err = capsys.readouterr().err
    assert "invalid syntax" in err and "x +* 2" in err
    assert main(["vanishing", "--activations", "softsign"]) == 2
    assert main(["vanishing", "--steps", "3"]) == 2


def test_cli_mlp(tmp_path, capsys):
    out = tmp_path / "flow.png"
    assert main(["vanishing", "--mlp", "--depth", "3", "--init", "standard,xavier", "--steps", "1",
                 "--width", "16", "--batch", "16", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "‖∂L/∂o_1‖/‖∂L/∂o_d‖" in text and "standard" in text and "xavier" in text
    assert out.stat().st_size > 1000



def test_explain_names_stay_callable_after_importing_the_modules():
    """Importing the explainer modules directly leaves dg.explain's functions callable."""
    import dagrad.explain.mlp_jacobians.explainer  # noqa: F401
    import dagrad.explain.vanishing_chain.flow as gf_module
    import dagrad.explain.vanishing_chain.scalar_chain as v_module

    assert hasattr(v_module, "ChainResult") and hasattr(gf_module, "FlowCase")
    assert dg.explain.vanishing(3, "tanh", weights=0.5)["tanh"].n == 3
    rep = dg.explain.gradient_flow(depth=2, width=8, batch=8, steps=0)
    assert len(rep.cases) == 2


def test_log_space_magnitudes_match_high_precision_far_below_float64():
    """The underflowed layers' log10 magnitudes agree with 30-digit arithmetic (mpmath)."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    rep = vanishing(2000, ["sigmoid", "tanh"], seed=1)
    for act, f in (("sigmoid", lambda u: 1 / (1 + mp.exp(-u))), ("tanh", mp.tanh)):
        r = rep[act]
        w = [mp.mpf(float(v)) for v in r.weights]
        h = [mp.mpf(1)]
        for wk in w:
            h.append(f(wk * h[-1]))
        g, tail = [None] * len(w), mp.mpf(1)
        for i in range(len(w) - 1, -1, -1):
            u = w[i] * h[i]
            d = f(u) * (1 - f(u)) if act == "sigmoid" else 1 - mp.tanh(u) ** 2
            g[i], tail = h[i] * d * tail, tail * w[i] * d
        ref = np.array([float(mp.log10(abs(v))) for v in g])
        assert ref.min() < -800  # far beyond float64
        np.testing.assert_allclose(r.log10_abs, ref, rtol=1e-13, atol=1e-10)
