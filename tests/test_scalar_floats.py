"""The scalar path on Python floats: float64 0-d results of elementwise ops hold Python floats.

Oracles: PyTorch float64 (values and gradients), NumPy float64 arrays (bit for bit where the
operations are + − × ÷ and integer powers, which IEEE rounds the same everywhere), NumPy's own
promotion rules and its inf/nan for divisions by zero and overflows.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import dagrad as dg
from dagrad import fastpaths


def _leaf(v: float) -> dg.Tensor:
    return dg.tensor(v, dtype="float64", requires_grad=True)


def _tleaf(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64, requires_grad=True)


def _rosenbrock(x1, x2):
    return 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2


def _bits(v) -> int:
    return int(np.asarray(v, np.float64).view(np.int64))


@pytest.mark.parametrize("point", [(1.5, 2.0), (-0.7, 0.3), (1e-3, 1e5), (3.25, -8.5)])
def test_arithmetic_values_and_gradients_are_the_bits_of_float64_arrays(point):
    x1, x2 = _leaf(point[0]), _leaf(point[1])
    y = _rosenbrock(x1, x2)
    assert type(y._d) is float
    y.backward()
    # the same expression and its hand-written gradient on float64 arrays (NumPy's ufuncs)
    a1, a2 = np.array([point[0]]), np.array([point[1]])
    r = a2 - a1 * a1
    want_y = 100 * (r * r) + (1 - a1) * (1 - a1)
    assert _bits(y.item()) == _bits(want_y[0])
    g_r = 100 * (2 * r)  # d/dr of 100 r², the rules' order of operations
    g1 = g_r * -1 * (2 * a1) + 1 * (2 * (1 - a1)) * -1
    assert _bits(x2.grad.item()) == _bits(g_r[0])
    np.testing.assert_allclose(x1.grad.item(), g1[0], rtol=1e-15)
    t1, t2 = _tleaf(point[0]), _tleaf(point[1])
    _rosenbrock(t1, t2).backward()
    np.testing.assert_allclose([x1.grad.item(), x2.grad.item()],
                               [t1.grad.item(), t2.grad.item()], rtol=1e-13)


@pytest.mark.parametrize("fn", ["exp", "log", "sqrt", "tanh", "sigmoid", "sin", "cos", "log1p",
                                "expm1", "softplus", "square"])
@pytest.mark.parametrize("v", [0.3, 1.7, 25.0])
def test_unary_ops_on_floats_match_torch(fn, v):
    x = _leaf(v)
    y = getattr(dg, fn)(x * 1.5) * 2.0
    assert type(y._d) is float and y.dtype == np.float64 and y.shape == ()
    y.backward()
    t = _tleaf(v)
    tf = {"softplus": torch.nn.functional.softplus}.get(fn) or getattr(torch, fn)
    ty = tf(t * 1.5) * 2.0
    ty.backward()
    np.testing.assert_allclose(y.item(), ty.item(), rtol=1e-14)
    np.testing.assert_allclose(x.grad.item(), t.grad.item(), rtol=1e-13)


def test_float_path_gives_the_bits_of_the_numpy_scalar_path(monkeypatch):
    """Backward with the scalar fast path off runs the rules on arrays: the same bits."""
    def run():
        x, w = _leaf(0.37), _leaf(-1.25)
        h = x
        for _ in range(20):
            h = dg.sigmoid(w * h + 0.5) / (1.0 + h * h)
        h.backward()
        return h.item(), x.grad.item(), w.grad.item()

    fast = run()
    monkeypatch.setattr(fastpaths, "SCALAR_FAST_PATH", False)
    slow = run()
    assert [_bits(v) for v in fast] == [_bits(v) for v in slow]


def test_sigmoid_chain_gradients_match_torch():
    ws = [0.5 + 0.001 * (i % 7) for i in range(300)]
    x, dws = _leaf(0.3), [_leaf(w) for w in ws]
    tx, tws = _tleaf(0.3), [_tleaf(w) for w in ws]
    h, th = x, tx
    for w, tw in zip(dws, tws, strict=True):
        h, th = dg.sigmoid(w * h), torch.sigmoid(tw * th)
    h.backward()
    th.backward()
    np.testing.assert_allclose(h.item(), th.item(), rtol=1e-15)
    np.testing.assert_allclose([w.grad.item() for w in dws], [w.grad.item() for w in tws],
                               rtol=1e-12)
    np.testing.assert_allclose(x.grad.item(), tx.grad.item(), rtol=1e-12)


def test_division_by_zero_gives_numpys_inf_and_warning():
    x, z = _leaf(1.0), _leaf(0.0)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y = x / z
    assert y.item() == math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y.backward()
        tx, tz = _tleaf(1.0), _tleaf(0.0)
        (tx / tz).backward()
    assert x.grad.item() == tx.grad.item() == math.inf
    assert z.grad.item() == tz.grad.item() == -math.inf


@pytest.mark.parametrize(("v", "n"), [(0.0, -2), (0.0, -3), (1e200, 3), (-1e200, 2)])
def test_integer_powers_at_poles_and_overflow_match_torch(v, n):
    x, t = _leaf(v), _tleaf(v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = x**n
        y.backward()
    ty = t**n
    ty.backward()
    assert y.item() == ty.item()
    assert x.grad.item() == t.grad.item()


def test_log_of_zero_and_negative_numbers_as_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = dg.log(_leaf(0.0) * 1.0)
        neg = dg.log(_leaf(-1.0) * 1.0)
        want = np.log(np.array([0.0, -1.0]))
    assert lo.item() == want[0] == -math.inf
    assert math.isnan(neg.item()) and math.isnan(want[1])


@pytest.mark.parametrize("other", ["float32-array", "float32-0d", "int64-0d", "float64-array"])
def test_floats_promote_as_float64_numpy_scalars(other):
    y = _leaf(1.5) * 2.0  # a Python float inside
    assert type(y._d) is float
    b = {"float32-array": np.ones(3, np.float32), "float32-0d": np.asarray(2.0, np.float32),
         "int64-0d": np.asarray(3, np.int64), "float64-array": np.ones(3)}[other]
    z = y * dg.tensor(b)
    assert z.dtype == np.result_type(np.float64, b.dtype)  # a float64 value is strongly typed
    np.testing.assert_array_equal(z.data, 3.0 * np.asarray(b, np.float64))


def test_float_node_feeding_an_array_op_matches_torch():
    x = _leaf(0.8)
    arr = np.array([1.0, -2.0, 3.0])
    y = dg.tanh(x * 1.3)  # a float node
    (y * dg.tensor(arr)).sum().backward()
    t = _tleaf(0.8)
    (torch.tanh(t * 1.3) * torch.tensor(arr)).sum().backward()
    np.testing.assert_allclose(x.grad.item(), t.grad.item(), rtol=1e-14)


def test_second_derivative_through_float_nodes_matches_torch():
    x = _leaf(0.6)
    y = dg.sigmoid(x * x) * x
    (gx,) = dg.autograd_grad(y, x, create_graph=True)
    (ggx,) = dg.autograd_grad(gx, x)
    t = _tleaf(0.6)
    ty = torch.sigmoid(t * t) * t
    (tg,) = torch.autograd.grad(ty, t, create_graph=True)
    (tgg,) = torch.autograd.grad(tg, t)
    np.testing.assert_allclose([gx.item(), ggx.item()], [tg.item(), tgg.item()], rtol=1e-13)


def test_a_freed_float_graph_refuses_a_second_backward():
    x = _leaf(0.4)
    y = dg.exp(x * 2.0)
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = dg.exp(x * 2.0)
    z.backward(retain_graph=True)
    z.backward()  # retained: runs again and accumulates
    np.testing.assert_allclose(x.grad.item(), 3 * 2 * math.exp(0.8), rtol=1e-14)


def test_a_float_value_reads_as_an_ndarray_and_accumulates_grads():
    x = _leaf(2.0)
    y = x * 3.0
    assert y.numel() == 1 and y.ndim == 0 and y.size() == () and y.dim() == 0
    assert type(y.data) is np.ndarray and y.data.dtype == np.float64
    y.backward()
    assert type(x.grad.data) is np.ndarray and x.grad.item() == 3.0
    (x * 4.0).backward()
    assert x.grad.item() == 7.0


def test_gradient_hooks_and_retain_grad_on_float_nodes():
    def run(leaf):
        x = leaf(1.1)
        y = x * 2.0
        y.retain_grad()
        seen = []
        y.register_hook(lambda g: seen.append(g.item()) or g * 3)
        (y * y).backward()
        return seen, y.grad.item(), x.grad.item()

    assert run(_leaf) == run(_tleaf)


def test_in_place_change_of_a_float_result_matches_torch():
    def run(leaf):
        x = leaf(0.9)
        y = x * 2.0  # a float result (dagrad), then changed in place
        y.mul_(x)
        y.add_(1.5)
        z = y * y
        z.backward()
        return z.item(), x.grad.item()

    np.testing.assert_allclose(run(_leaf), run(_tleaf), rtol=1e-15)
