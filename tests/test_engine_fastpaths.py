"""The engine's fast paths against the plain paths they shortcut (same values, same dtypes)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dagrad as dg
from dagrad import autodiff, fastpaths
from dagrad.ops import nn as nnops
from dagrad.ops.base import as_input, output_only
from dagrad.ops.elementwise import _powi_forward, _sigmoid_forward


@pytest.fixture
def plain_path(monkeypatch):
    """Turn the scalar fast path of backprop off for one call."""

    def run(fn):
        monkeypatch.setattr(fastpaths, "SCALAR_FAST_PATH", False)
        try:
            return fn()
        finally:
            monkeypatch.setattr(fastpaths, "SCALAR_FAST_PATH", True)

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
    loss = output_only(nnops._ce_forward)(logits, labels)  # the forward saves residuals too
    np.testing.assert_allclose(loss, -picked.mean(),
                               rtol=4 * np.finfo(dtype).eps)


# ----- 0-d results held as numbers -------------------------------------------------------------
def test_zero_d_results_hand_out_ndarrays_and_keep_writes():
    x = dg.tensor(1.5, dtype="float64", requires_grad=True)
    y = x * 2 + 1
    assert type(y._d) is float  # a float64 number held as a Python float ...
    z = dg.tensor(1.5, dtype="float32") * 2
    assert type(z._d) is np.float32 and z.dtype == np.float32  # other dtypes: NumPy scalars
    assert type(y.data) is np.ndarray and y.data.shape == () and y.dtype == np.float64
    y.data[...] = 7.0  # ... and, once read as an array, it is that array
    assert y.item() == 7.0 and y.data is y.data
    y = x * 2
    y.backward()
    assert type(x.grad.data) is np.ndarray and x.grad.item() == 2.0
    (x * 3).backward()  # accumulates into the array the first gradient became
    assert x.grad.item() == 5.0


_DTYPES = ["float16", "float32", "float64", "int32", "int64"]


@pytest.mark.parametrize("da", _DTYPES)
@pytest.mark.parametrize("db", _DTYPES + ["py-int", "py-float"])
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum"])
def test_zero_d_promotion_and_values_match_numpy(name, da, db):
    a = np.asarray(1.75, dtype=da)
    b = {"py-int": 3, "py-float": 0.3}.get(db)
    b = np.asarray(-2.5, dtype=db) if b is None else b
    ufunc = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
             "maximum": np.maximum}[name]
    want = np.asarray(ufunc(a, b))
    tb = b if isinstance(b, (int, float)) else dg.tensor(b)
    fn = getattr(dg.ops, name)
    for got in (fn(dg.tensor(a), tb), fn(dg.tensor(a) * 1, tb)):  # a leaf, then a held scalar
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_array_equal(got.data, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh"])
def test_math_module_forwards_match_the_ufuncs(name, dtype):
    ufunc = getattr(np, name)
    vals = [0.0, -0.0, 1e-30, 0.3, 1.0, 2.5, 50.0, 88.0, 100.0, 700.0, 710.0, 1e5, -1.0, -750.0,
            math.inf, -math.inf, math.nan]
    fwd = getattr(dg.ops, name)
    for v in vals:
        with np.errstate(all="ignore"):
            want = ufunc(np.asarray([v], dtype))[0]
            got = fwd(dg.tensor(v, dtype=dtype) * 1)  # a held scalar
        assert got.dtype == dtype and got.shape == ()
        if np.isfinite(want) and want != 0:
            np.testing.assert_allclose(got.item(), want, rtol=2 * np.finfo(dtype).eps, atol=0)
        else:  # 0, ±inf and nan exactly as NumPy (domain and range errors fall back to it)
            np.testing.assert_array_equal(got.data, want)


def test_math_module_forwards_warn_like_numpy():
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        assert dg.log(dg.tensor(0.0, dtype="float64") * 1).item() == -math.inf
    with pytest.warns(RuntimeWarning, match="invalid value"):
        assert math.isnan(dg.sqrt(dg.tensor(-1.0, dtype="float64") * 1).item())
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert dg.exp(dg.tensor(1000.0, dtype="float64") * 1).item() == math.inf


def test_scalar_graphs_with_skips_and_fan_out_match_torch():
    torch = pytest.importorskip("torch")

    def f(lib, x, w):
        h1 = x * w
        h2 = lib.sigmoid(h1) * 3   # a chain ...
        h3 = lib.tanh(h2) + h1     # ... that h1 skips into (h1 waits while h2, h3 go first)
        h4 = h3 * h3 - h1 / (h2 + 1) + lib.exp(-h3) * w
        return h4 * x

    x, w = dg.tensor(0.4, dtype="float64", requires_grad=True), dg.tensor(-1.3, dtype="float64",
                                                                          requires_grad=True)
    f(dg, x, w).backward()
    tx = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    f(torch, tx, tw).backward()
    np.testing.assert_allclose([x.grad.item(), w.grad.item()], [tx.grad.item(), tw.grad.item()],
                               rtol=1e-13)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_node_is_reached_only_after_all_its_consumers(dtype):
    # r = P + Q with P = 2S and Q = 3(S + 1): when T = S + 1 is processed, S is the only new
    # input but P (newer than S) still waits, so S must wait for it too.  Asking for d r / d S
    # stops at the first visit of S: a visit before P's share arrived would give 3, not 5.
    x = dg.tensor(0.5, dtype=dtype, requires_grad=True)
    s = x * 1
    p = s * 2
    t = s + 1
    q = t * 3
    r = p + q
    (gs,) = autodiff.grad(r, [s], retain_graph=True)  # the tail below goes through r again
    assert gs.item() == 5.0
    (gx,) = autodiff.grad(dg.sigmoid(r) * 1, [x])  # the same on a longer scalar tail
    sr = 1 / (1 + math.exp(-r.item()))
    assert gx.item() == pytest.approx(5 * sr * (1 - sr), rel=1e-5 if dtype == "float32" else 1e-12)


def test_each_leaf_gradient_is_its_own_array():
    # add's rules hand the same cotangent to both inputs: the second leaf must get a copy
    a = dg.tensor([1.0, 2.0], requires_grad=True)
    b = dg.tensor([3.0, 4.0], requires_grad=True)
    g = np.array([0.5, -1.0], dtype=np.float32)
    (a + b).backward(grad=g)
    assert not np.shares_memory(a.grad.data, b.grad.data)
    assert not np.shares_memory(a.grad.data, g) and not np.shares_memory(b.grad.data, g)
    a.grad.data += 1
    np.testing.assert_array_equal(b.grad.data, [0.5, -1.0])
    np.testing.assert_array_equal(g, [0.5, -1.0])
    w = dg.tensor(np.ones((3, 2)), requires_grad=True)
    x = dg.tensor(np.ones((4, 2)))
    y = (x @ w.T).sum()  # w's gradient comes through a transposed view: stored as a copy
    y.backward()
    assert w.grad.data.base is None and w.grad.data.flags.writeable
