"""The dense limit bounds a Jacobian's peak memory, not only its result (issue 16, section 4).

Peaks are NumPy's allocations as tracemalloc sees them, measured in a fresh interpreter so that
nothing else in the test session counts; values are checked against PyTorch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import dagrad as dg
from conftest import torch
from dagrad import autodiff

tf = torch.func

_CHILD = textwrap.dedent("""
    import json, sys, tracemalloc
    import numpy as np
    import dagrad as dg

    kind, n, share = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    x = np.random.default_rng(0).uniform(-1, 1, n)
    result = n * n * 8
    if share:
        dg.set_dense_limit(int(share * result))
    f = lambda v: dg.tanh(v) * 2.0 + v * v
    tracemalloc.start()
    if kind == "hessian":
        J = dg.hessian(lambda v: (dg.tanh(v) ** 2).sum())(x)
    else:
        J = dg.jacobian(f, mode=kind)(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if kind == "hessian":
        t = np.tanh(x)
        want = np.diag(2 * (1 - t * t) * (1 - 3 * t * t))
    else:
        want = np.diag(2 * (1 - np.tanh(x) ** 2) + 2 * x)
    print(json.dumps({"peak": peak, "result": J.data.nbytes,
                      "error": float(np.abs(J.data - want).max())}))
""")

N = 2048  # a 32 MiB float64 Jacobian
BASELINE = 4 * 2**20  # the interpreter's own allocations while the Jacobian is built


def _peak(kind: str, share: float) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    env.pop("DAGRAD_DENSE_LIMIT", None)
    run = subprocess.run([sys.executable, "-c", _CHILD, kind, str(N), str(share)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["reverse", "forward", "hessian"])
def test_peak_stays_near_the_result(kind):
    """Default limit: the extra copies (basis, stacked cotangents, transposes) are chunked away."""
    got = _peak(kind, 0)
    assert got["result"] == N * N * 8 and got["error"] < 1e-12
    assert got["peak"] <= 1.3 * got["result"] + BASELINE, got


@pytest.mark.parametrize("kind", ["reverse", "forward", "hessian"])
def test_peak_stays_within_a_tight_limit(kind):
    """With the limit 5% above the result, what is really allocated stays within the limit."""
    got = _peak(kind, 1.05)
    assert got["error"] < 1e-12
    assert got["peak"] <= 1.05 * got["result"] + BASELINE, got


def _matfun(a, b):
    return dg.tanh(a @ b) * a.sum()


def _matfun_t(a, b):
    return torch.tanh(a @ b) * a.sum()


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_chunked_jacobian_matches_torch(mode, monkeypatch):
    """A limit that leaves room for a few basis vectors per pass: same values, several passes."""
    r = np.random.default_rng(3)
    a, b = r.standard_normal((6, 5)), r.standard_normal((5, 7))
    calls = []
    for name in ("backprop", "forward_tangents"):
        real = getattr(autodiff, name)
        monkeypatch.setattr(autodiff, name,
                            lambda *x, _real=real, **k: calls.append(1) or _real(*x, **k))
    result = 42 * (30 + 35) * 8
    with dg.dense_limit(result + 20_000):
        ja, jb = dg.jacobian(_matfun, argnums=(0, 1), mode=mode)(a, b)
    assert len(calls) > 3  # chunked
    ta, tb = (tf.jacrev if mode == "reverse" else tf.jacfwd)(_matfun_t, argnums=(0, 1))(
        torch.tensor(a), torch.tensor(b))
    assert ja.shape == (6, 7, 6, 5) and jb.shape == (6, 7, 5, 7)
    np.testing.assert_allclose(ja.data, ta.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(jb.data, tb.numpy(), rtol=1e-12, atol=1e-13)


def test_no_room_for_one_basis_vector_is_refused_with_the_reason():
    with dg.dense_limit(100 * 100 * 8):  # the result fits exactly; its working memory does not
        with pytest.raises(dg.MemoryLimitError, match="working memory"):
            dg.jacobian(lambda v: dg.tanh(v))(np.ones(100))


def test_edge_jacobian_in_chunks_equals_the_closed_form():
    """A drawn edge's full Jacobian (softmax: diag(s) − s sᵀ) within the limit, in chunks."""
    n = 1500  # an 18 MB edge Jacobian
    x = dg.tensor(np.random.default_rng(5).standard_normal(n), dtype="float64",
                  requires_grad=True, name="x")
    g = dg.graph((dg.softmax(x) * np.arange(float(n))).sum())
    (edge,) = [e for e in g.edges if g[e.target].op == "softmax"]
    s = np.exp(x.data - x.data.max())
    s /= s.sum()
    result = n * n * 8
    tracemalloc.start()
    try:
        with dg.dense_limit(int(1.05 * result)):
            value = edge.value
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 1.05 * result + BASELINE
    np.testing.assert_allclose(value, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_parameters_off_the_inputs_path_cost_no_working_memory(mode, monkeypatch):
    """A network's weights require grad but no cotangent of ∂out/∂x reaches them (the sweep
    prunes to the nodes between x and out): they do not shrink the chunks — one pass for the
    10×784 Jacobian of the sheet's MLP, whose 270,000 weights once forced four."""
    net = dg.nn.MLP([784, 256, 256, 10], activation="tanh", output="softmax", dtype="float64",
                    seed=0)
    x = np.random.default_rng(4).uniform(0, 1, 784)
    calls = []
    for name in ("backprop", "forward_tangents"):
        real = getattr(autodiff, name)
        monkeypatch.setattr(autodiff, name,
                            lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    J = dg.jacobian(net, mode=mode)(x)
    passes = len(calls)
    if mode == "reverse":
        assert passes == 1
    ps = [torch.tensor(p.data) for p in net.parameters()]

    def tnet(v):
        h = torch.tanh(torch.nn.functional.linear(v, ps[0], ps[1]))
        h = torch.tanh(torch.nn.functional.linear(h, ps[2], ps[3]))
        return torch.softmax(torch.nn.functional.linear(h, ps[4], ps[5]), -1)

    want = tf.jacrev(tnet)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(J.data, want, rtol=1e-10, atol=1e-14)
