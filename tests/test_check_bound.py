"""dg.check.bound: a claimed bound on |∂h_n/∂w_i| searched for a counterexample; the true
derivative at a counterexample is compared with PyTorch's autograd on the same chain."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from dagrad.check.bound import true_derivatives
from dagrad.explain.vanishing_chain.scalar_chain import activation

torch = pytest.importorskip("torch")
pytest.importorskip("sympy")

TRIALS = dict(trials=300)


def _torch_derivative(act, w, h0, i):
    ws = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in w]
    h = torch.tensor(float(h0), dtype=torch.float64)
    fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[act]
    for wk in ws:
        h = fn(wk * h)
    h.backward()
    return abs(float(ws[i - 1].grad))


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
def test_the_closed_form_agrees_with_pytorch(act):
    rng = np.random.default_rng(1)
    for _ in range(5):
        w = rng.uniform(-1, 1, 6)
        h0 = float(rng.uniform(-2, 2))
        ours = true_derivatives(activation(act), w, h0)
        for i in range(1, 7):
            assert ours[i - 1] == pytest.approx(_torch_derivative(act, w, h0, i), rel=1e-12,
                                                abs=1e-300)


def test_the_bound_without_the_sigmoids_output_is_broken_with_a_checked_counterexample():
    # |h_(i−1)| ≤ |h0| fails for i ≥ 2: h_(i−1) = σ(·) is near 1/2 while h0 may be tiny
    r = dg.check.bound("sigmoid", "abs(h0) * exp((n-i+1)*log(1/4))", **TRIALS)
    assert r.verdict == "wrong"
    w, h0, i, true, b = r.data["counterexample"]
    assert true > b
    assert true == pytest.approx(_torch_derivative("sigmoid", w, h0, i), rel=1e-10)
    assert b == pytest.approx(abs(h0) * 0.25 ** (len(w) - i + 1), rel=1e-12)
    assert "counterexample" in r.diagnosis[0] and "reverse mode" in r.diagnosis[1]


@pytest.mark.parametrize("act, claimed, tight", [
    ("sigmoid", "maximum(abs(h0), 1) * exp((n-i+1)*log(1/4))", True),
    ("tanh", "abs(h0) * 2", False),
    ("relu", "abs(h0)", True),
])
def test_valid_bounds_have_no_counterexample_and_tightness_is_said(act, claimed, tight):
    r = dg.check.bound(act, claimed, **TRIALS)
    assert r.ok, r.diagnosis
    assert r.how.startswith("no counterexample in") and "not a proof" in r.how
    assert ("looks tight" in r.diagnosis[1]) is tight
    assert r.data["ratio"] <= 1 + 1e-9
    if not tight:
        assert r.data["ratio"] == pytest.approx(0.5, abs=0.02)


def test_the_weights_bound_matters():
    # with |w_k| ≤ 2 a tanh chain's derivative can exceed |h0|
    assert dg.check.bound("tanh", "abs(h0)", w_max=1, **TRIALS).ok
    r = dg.check.bound("tanh", "abs(h0)", w_max=2, **TRIALS)
    assert not r.ok and max(abs(v) for v in r.data["counterexample"][0]) <= 2


def test_an_undefined_bound_is_wrong():
    r = dg.check.bound("sigmoid", "log(h0)", **TRIALS)
    assert not r.ok and "not a number" in r.diagnosis[0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(activation="sigmoid", claimed="abs(y)"), "uses y"),
    (dict(activation="sigmoid", claimed="1", w_max=0), "--w-max"),
    (dict(activation="sigmoid", claimed="1", trials=0), "--trials"),
    (dict(activation="sigmoid", claimed="abs("), "the bound"),
    (dict(activation="nonsense(", claimed="1"), "nonsense"),
])
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(ValueError) as e:
        dg.check.bound(**kwargs)
    assert message in str(e.value)
