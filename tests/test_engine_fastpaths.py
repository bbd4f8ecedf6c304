"""The engine's fast paths against the plain paths they shortcut (same values, same dtypes)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dagrad as dg
from dagrad import autodiff
from dagrad.ops import nn as nnops
from dagrad.ops.base import as_input
from dagrad.ops.elementwise import _powi_forward, _sigmoid_forward


@pytest.fixture
def plain_path(monkeypatch):
    """Turn the scalar fast path of backprop off for one call."""

    def run(fn):
        monkeypatch.setattr(autodiff, "SCALAR_FAST_PATH", False)
        try:
            return fn()
        finally:
            monkeypatch.setattr(autodiff, "SCALAR_FAST_PATH", True)

    return run


def _scalar_grads(dtype):
    rng = np.random.default_rng(7)
    vals = rng.uniform(0.2, 1.8, 4)
    xs = [dg.tensor(v, dtype=dtype, requires_grad=True) for v in vals]
    a, b, c, d = xs
    y = (100 * (b - a**2) ** 2 + (1 - a) ** 2) / (c + 1) - dg.exp(-d) * dg.log(c) \
        + dg.sigmoid(a * d) * dg.tanh(b) + dg.maximum(a, c) ** 3 + abs(a - 2) + dg.sqrt(d) \
        + dg.relu(b - 1) + dg.where(a > b, a, b) + dg.leaky_relu(c - 1) + d ** c \
        + (a * 2).astype("float64").astype(dtype)
    y.backward()
    return [x.grad.data.copy() for x in xs], [x.grad.dtype for x in xs]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scalar_fast_path_matches_the_plain_path(dtype, plain_path):
    fast, fast_dt = _scalar_grads(dtype)
    plain, plain_dt = plain_path(lambda: _scalar_grads(dtype))
    assert fast_dt == plain_dt == [np.dtype(dtype)] * 4
    for f, p in zip(fast, plain, strict=True):
        assert isinstance(f, np.ndarray) and f.shape == ()
        np.testing.assert_allclose(f, p, rtol=4 * np.finfo(dtype).eps, atol=0)


def test_scalar_fast_path_with_batched_cotangents(plain_path):
    x = dg.tensor(0.7, dtype="float64")

    def jac():
        return dg.jacobian(lambda v: dg.stack([dg.sigmoid(v * 3), v ** 2 * dg.exp(v)]))(x).data

    np.testing.assert_array_equal(jac(), plain_path(jac))


def test_deep_scalar_chain_runs_without_recursion():
    x = dg.tensor(0.3, dtype="float64", requires_grad=True)
    ws = [dg.tensor(0.5, dtype="float64", requires_grad=True) for _ in range(30_000)]
    h = x
    for w in ws:
        h = dg.sigmoid(w * h)
    h.backward()
    s = h.item()
    assert ws[-1].grad.item() == pytest.approx(s * (1 - s) * (h._node[1][0]._node[1][1].item()))
    assert all(w.grad is not None for w in ws)


def test_shared_subgraphs_and_leaf_roots_accumulate_once():
    x = dg.tensor([0.5, -1.0], requires_grad=True, dtype="float64")
    u = dg.tanh(x)
    y = (u * u).sum() + u.sum() + (x * 3).sum()
    y.backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.data, (2 * t + 1) * (1 - t * t) + 3, rtol=1e-14)
    x.grad = None
    autodiff.backprop([x, x], [np.ones(2), np.ones(2)])  # a leaf as a (repeated) root
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_scalar_forward_matches_the_array_forward(dtype):
    vals = [0.0, -0.0, 1e-8, 0.3, -0.3, 5.0, -5.0, 40.0, -40.0, 800.0, -800.0, math.inf,
            -math.inf]
    for v in vals:
        one = _sigmoid_forward(np.asarray(v, dtype))
        arr = _sigmoid_forward(np.asarray([v], dtype))[0]
        assert one.dtype == dtype and one.shape == ()
        np.testing.assert_allclose(one, arr, rtol=2 * np.finfo(dtype).eps, atol=0)
    assert np.isnan(_sigmoid_forward(np.asarray(math.nan, dtype)))


def test_sigmoid_array_forward_is_stable():
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    expect = np.array([1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
                       for v in x])
    np.testing.assert_allclose(_sigmoid_forward(x), expect, rtol=1e-15, atol=0)
    assert _sigmoid_forward(np.array([1, -2])).dtype == np.float64  # ints give floats


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_])
def test_square_is_the_same_as_power(dtype):
    a = np.array([[-3, 0, 1], [2, 5, -1]]).astype(dtype)
    got, want = _powi_forward(a, 2), np.power(a, 2)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("like", ["float16", "float32", "float64", "int64"])
@pytest.mark.parametrize("value", [3, -2, 0.1, 1e300, True])
def test_python_scalar_constants_follow_numpy_promotion(like, value):
    t = dg.tensor(np.ones(2, like))
    with np.errstate(over="ignore"):
        got = as_input(value, like=t).data
        want = np.asarray(value, dtype=np.result_type(np.dtype(like), value))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape,target,nb", [((5, 3), (3,), 0), ((2, 5, 3), (3,), 1),
                                             ((4, 5, 3), (5, 1), 0), ((2, 4, 3), (4, 3), 1),
                                             ((6, 2, 3), (2, 3), 0), ((3,), (3,), 0)])
def test_sum_to_matches_the_keepdims_reduction(shape, target, nb):
    c = np.random.default_rng(0).standard_normal(shape)
    got = autodiff.sum_to(c, target, nb)
    lead = c.ndim - nb - len(target)
    axes = tuple(range(nb, nb + lead)) + tuple(
        nb + lead + i for i, s in enumerate(target) if s == 1 and shape[nb + lead + i] != 1)
    want = c.sum(axis=axes, keepdims=True).reshape(shape[:nb] + target) if axes else c
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_in_place_rule_matches_the_tensor_rule(dtype):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 4)).astype(dtype)
    labels = rng.integers(0, 4, 6)
    g = np.asarray(1.7, dtype)
    fast = nnops._ce_grad(g, logits, labels, None)
    slow = nnops._ce_grad(dg.tensor(g), dg.tensor(logits), dg.tensor(labels), None).data
    assert fast.dtype == slow.dtype == np.dtype(dtype)
    np.testing.assert_allclose(fast, slow, rtol=4 * np.finfo(dtype).eps, atol=1e-7)
    picked = np.take_along_axis(nnops._log_softmax_forward(logits, -1), labels[:, None], -1)
    np.testing.assert_allclose(nnops._ce_forward(logits, labels), -picked.mean(),
                               rtol=4 * np.finfo(dtype).eps)
