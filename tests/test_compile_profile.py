"""dg.compile's line profile (dagrad.compiler.profile) and benchmarks/compile_profile.py; the
replay's returned values in arrays of their own, and the loss left out when only saved values
are needed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import dagrad as dg
from dagrad.compiler.profile import line_times

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmarks package lives beside src/, not inside it


def _mlp_step(sizes=(12, 8, 6, 3), seed=0):
    net = dg.nn.MLP(list(sizes), activation="tanh", seed=seed)
    opt = dg.optim.SGD(net.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = dg.cross_entropy(net(dg.Tensor(x)), y)
        loss.backward()
        opt.step()
        return loss

    return net, step


def test_line_times_name_every_gemm_and_replay_the_step():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 12)).astype(np.float32), rng.integers(0, 3, 5)
    net_e, eager = _mlp_step()
    net_c, step = _mlp_step()
    cf = dg.compile(step, tune=False)
    cf(x, y)
    eager(x, y)
    lines = line_times(cf, x, y, repeat=4)       # 5 instrumented runs: 5 more SGD steps
    for _ in range(5):
        eager(x, y)
    kinds = {ln.kind for ln in lines}
    for layer in (1, 2, 3):
        assert any(k.startswith(f"GEMM forward, layer {layer} ") for k in kinds)
        assert any(k.startswith(f"GEMM weight gradient, layer {layer} ") for k in kinds)
    assert any(k.startswith("GEMM input gradient, layer 2") for k in kinds)
    assert not any(k.startswith("GEMM input gradient, layer 1") for k in kinds)  # x: no grad
    assert "optimizer update (SGD, in place)" in kinds
    assert "softmax + cross-entropy forward" in kinds
    assert "elementwise backward (tanh′)" in kinds
    assert sum(ln.text.startswith("_np.matmul(") for ln in lines) == 8
    assert all(ln.seconds >= 0 for ln in lines) and sum(ln.seconds for ln in lines) > 0
    for pe, pc in zip(net_e.parameters(), net_c.parameters(), strict=True):
        np.testing.assert_array_equal(pc.data, pe.data)      # the same six steps, bitwise


def test_line_times_refuses_what_it_cannot_profile():
    with pytest.raises(TypeError, match="dg.compile function"):
        line_times(lambda x: x, np.ones(2))
    with pytest.raises(ValueError, match="repeat must be at least 1"):
        line_times(dg.compile(lambda x: dg.tanh(dg.Tensor(x))), np.ones(2), repeat=0)


def _closed_form_input_grad(w, b, x, y):
    """∇x of N · mean cross-entropy(x Wᵀ + b, y) = (softmax(z) − onehot(y)) W."""
    z = x @ w.T + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p @ w


def test_returned_gradient_is_a_new_array_per_call_and_the_unused_loss_is_not_computed():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 6))
    b = rng.standard_normal(4)
    wt, bt = dg.tensor(w), dg.tensor(b)
    y = rng.integers(0, 4, 7)

    def loss(v):
        return dg.cross_entropy(dg.ops.linear(v, wt, bt), y) * len(y)

    g = dg.compile(dg.grad(loss))
    x1, x2 = rng.standard_normal((7, 6)), rng.standard_normal((7, 6))
    g(dg.tensor(x1))                               # the trace
    r1 = g(dg.tensor(x1)).data
    r2 = g(dg.tensor(x2)).data
    assert not np.shares_memory(r1, r2)
    np.testing.assert_allclose(r1, _closed_form_input_grad(w, b, x1, y), rtol=1e-12)
    np.testing.assert_allclose(r2, _closed_form_input_grad(w, b, x2, y), rtol=1e-12)
    np.testing.assert_array_equal(r1, dg.grad(loss)(dg.tensor(x1)).data)
    src = g.source
    assert "_np.empty(" in src and "return _T(b" in src     # written into a fresh array
    assert "_sy" not in src                              # the loss itself: nobody reads it

    vg = dg.compile(dg.value_and_grad(loss))
    vg(dg.tensor(x1))
    v, d = vg(dg.tensor(x1))
    ve, de = dg.value_and_grad(loss)(dg.tensor(x1))
    assert float(v.data) == float(ve.data)
    np.testing.assert_array_equal(d.data, de.data)
    assert "_sy" in vg.source                            # returned: computed


def test_a_value_returned_twice_is_copied_not_shared():
    def f(x):
        h = dg.tanh(dg.Tensor(x))
        return h, h

    cf = dg.compile(f)
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    cf(x)
    a, b = cf(x)
    np.testing.assert_allclose(a.data, np.tanh(x), rtol=1e-15)
    assert not np.shares_memory(a.data, b.data)
    c, _ = cf(x + 1)
    np.testing.assert_allclose(a.data, np.tanh(x), rtol=1e-15)   # not overwritten
    np.testing.assert_allclose(c.data, np.tanh(x + 1), rtol=1e-15)


def test_compile_profile_benchmark_smoke():
    from benchmarks import compile_profile
    from benchmarks.__main__ import Context
    from benchmarks.timing import PLANS

    res = compile_profile.run(Context("smoke", PLANS["smoke"], {}, {}))
    r = res["batches"]["8"]
    assert all(res["checks"].values())
    kinds = [row["kind"] for row in r["rows"]]
    assert sum(k.startswith("GEMM") for k in kinds) == 8
    assert compile_profile.REST in kinds
    text = "\n".join(compile_profile.section(res))
    assert "| step kind | µs per step | share |" in text
    assert "GEMM bound" in text and "GEMM forward, layer 1" in text


def test_line_kinds_of_an_input_gradient():
    """dg.grad with respect to the input: its GEMMs by role, the returned array's allocation,
    no bias gradient (no parameter gradient is computed)."""
    rng = np.random.default_rng(4)
    w, b = dg.tensor(rng.standard_normal((4, 6))), dg.tensor(rng.standard_normal(4))
    y = rng.integers(0, 4, 5)
    g = dg.compile(dg.grad(lambda v: dg.cross_entropy(dg.ops.linear(dg.tanh(v), w, b), y)))
    x = dg.tensor(rng.standard_normal((5, 6)))
    kinds = [ln.kind for ln in line_times(g, x, repeat=2)]
    assert "allocation (an array the call returns)" in kinds
    assert any(k.startswith("GEMM input gradient, layer 1") for k in kinds)
    assert not any(k.startswith(("bias gradient", "GEMM weight gradient")) for k in kinds)
    assert "elementwise backward (tanh′)" in kinds


def test_line_times_can_time_plain_calls_between_its_runs():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 12)).astype(np.float32), rng.integers(0, 3, 5)
    net_e, eager = _mlp_step()
    net_c, step = _mlp_step()
    cf = dg.compile(step, tune=False)
    calls: list[tuple[float, float]] = []
    line_times(cf, x, y, repeat=3, calls=calls)   # trace + 4 runs + 3 calls: 8 SGD steps
    for _ in range(8):
        eager(x, y)
    assert len(calls) == 3 and all(t > 0 and c > 0 for t, c in calls)
    for pe, pc in zip(net_e.parameters(), net_c.parameters(), strict=True):
        np.testing.assert_array_equal(pc.data, pe.data)
