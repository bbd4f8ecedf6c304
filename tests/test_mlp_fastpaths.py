"""The eager MLP step's fast paths against the plain paths they shortcut (same bits).

``linear`` may run its batched GEMM as (W xᵀ)ᵀ, ``cross_entropy`` hands its forward's e^s to
its vjp and takes row maxima of few columns across rows, labels are range-checked in one
reduction, ``Sequential`` skips ``Module.__call__``'s frame.  Each is compared with the path
it replaces, and the whole training step with everything on against everything off (and
against PyTorch).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dagrad as dg
from dagrad import autodiff, fastpaths, nn, ops, optim, tuning
from dagrad.ops import linalg
from dagrad.ops import nn as nnops
from dagrad.tensor import STATE


def _bits(a) -> bytes:
    a = np.asarray(a.data if isinstance(a, dg.Tensor) else a)
    return a.dtype.str.encode() + repr(a.shape).encode() + np.ascontiguousarray(a).tobytes()


@pytest.fixture
def swap_where_identical(monkeypatch):
    """Orientation choices made afresh, for every size, and the swap taken wherever it gives
    the same bits (whatever the timing would say)."""
    monkeypatch.setattr(tuning, "ORIENTATIONS", {})
    monkeypatch.setattr(tuning, "ORIENT_MIN_WORK", 0)
    monkeypatch.setattr(tuning, "best_seconds", lambda fns, args: [1.0, 0.0])
    return tuning.ORIENTATIONS


@pytest.fixture
def plain(monkeypatch):
    """Run a function with every fast path of this file off."""

    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(fastpaths, "ORIENT_FAST_PATH", False)
            m.setattr(fastpaths, "CE_SAVE", False)
            m.setattr(nnops, "_row_max", lambda a: np.maximum.reduce(a, axis=-1, keepdims=True))
            return fn()

    return run


SHAPES = [(32, 784, 256), (32, 256, 256), (32, 256, 10), (1, 7, 3), (7, 256, 256),
          (33, 100, 10), (128, 64, 300), (5, 2, 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_swapped_gemm_gives_the_plain_bits(dtype, swap_where_identical, plain):
    rng = np.random.default_rng(3)

    def run(m, k, n):
        x = dg.tensor(rng.standard_normal((m, k)), dtype=dtype, requires_grad=True)
        w = dg.tensor(rng.standard_normal((n, k)), dtype=dtype, requires_grad=True)
        b = dg.tensor(rng.standard_normal(n), dtype=dtype, requires_grad=True)
        y = ops.linear(x, w, b)
        (dg.tanh(y) * dg.tensor(rng.standard_normal((m, n)), dtype=dtype)).sum().backward()
        return y, x.grad, w.grad, b.grad

    for shape in SHAPES:
        state = rng.bit_generator.state
        fast = run(*shape)
        rng.bit_generator.state = state
        slow = plain(lambda s=shape: run(*s))
        assert fast[0].data.flags.c_contiguous
        for f, s in zip(fast, slow, strict=True):
            assert _bits(f) == _bits(s), shape
    # the swap was verified on every shape and taken where BLAS agreed bit for bit
    assert set(swap_where_identical) == {(m, k, n, np.dtype(dtype)) for m, k, n in SHAPES}
    assert any(swap_where_identical.values())  # OpenBLAS: everywhere with a row-major x


def test_swapped_gemm_is_refused_when_it_rounds_differently(swap_where_identical, monkeypatch):
    real = tuning.featuremajor_linear
    monkeypatch.setattr(tuning, "featuremajor_linear",
                        lambda x, w, b: np.nextafter(real(x, w, b), 9))
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 6), (5, 6), (5,)))
    got = linalg._linear_forward(x, w, b)
    assert swap_where_identical == {(4, 6, 5, np.dtype(np.float32)): False}
    assert _bits(got) == _bits(tuning.rowmajor_linear(x, w, b))


def test_orientation_is_timed_once_per_shape_and_keeps_the_random_streams(monkeypatch):
    monkeypatch.setattr(tuning, "ORIENTATIONS", {})
    calls = []
    real = tuning.best_seconds
    monkeypatch.setattr(tuning, "best_seconds",
                        lambda fns, args: calls.append(1) or real(fns, args))
    dg.manual_seed(5)
    np.random.seed(5)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 784)).astype(np.float32)
    w = rng.standard_normal((256, 784)).astype(np.float32)
    b = rng.standard_normal(256).astype(np.float32)
    want = x @ w.T + b
    for _ in range(3):
        assert _bits(linalg._linear_forward(x, w, b)) == _bits(want)
    # timed only where this CPU's BLAS gives the swapped form the same bits (not everywhere)
    assert len(calls) == int(_swap_is_identical(32, 784, 256))
    assert list(tuning.ORIENTATIONS) == [(32, 784, 256, np.dtype(np.float32))]
    assert STATE.rng.random() == np.random.default_rng(5).random()
    np.random.seed(5)
    expect = np.random.random()
    np.random.seed(5)
    assert np.random.random() == expect


@pytest.mark.parametrize("case", ["fortran x", "strided x", "transposed W", "mixed dtype",
                                  "3-D x", "small"])
def test_linear_keeps_the_plain_gemm_outside_the_checked_cases(case, monkeypatch):
    monkeypatch.setattr(tuning, "ORIENTATIONS", {})
    monkeypatch.setattr(tuning, "best_seconds", lambda fns, args: [1.0, 0.0])
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 300)).astype(np.float32)
    w = rng.standard_normal((128, 300)).astype(np.float32)
    b = rng.standard_normal(128).astype(np.float32)
    if case == "fortran x":
        x = np.asfortranarray(x)
    elif case == "strided x":
        x = rng.standard_normal((64, 600)).astype(np.float32)[:, ::2]
    elif case == "transposed W":
        w = np.ascontiguousarray(w.T).T
    elif case == "mixed dtype":
        b = b.astype(np.float64)
    elif case == "3-D x":
        x = x.reshape(4, 16, 300)
    else:
        x, w, b = x[:2, :10], w[:3, :10].copy(), b[:3]
        x = np.ascontiguousarray(x)
    got = linalg._linear_forward(x, w, b)
    want = x @ w.T
    want += b
    assert _bits(got) == _bits(want)
    assert tuning.ORIENTATIONS == {}


def _ce_data(n, c, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c)) * 3, rng.integers(0, c, n)


def _ce_run(dtype, n, c):
    values, labels = _ce_data(n, c)
    logits = dg.tensor(values, dtype=dtype, requires_grad=True)
    loss = dg.cross_entropy(logits * 1.0, labels)  # logits from an op, as in a network
    loss.backward()
    return loss, logits.grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n,c", [(32, 10), (128, 10), (3, 40), (1, 1), (5, 33)])
def test_cross_entropy_saved_softmax_gives_the_recomputed_bits(dtype, n, c, plain):
    fast = _ce_run(dtype, n, c)
    slow = plain(lambda: _ce_run(dtype, n, c))
    for f, s in zip(fast, slow, strict=True):
        assert _bits(f) == _bits(s)
    values, labels = _ce_data(n, c)
    lt = torch.tensor(values.astype(dtype), requires_grad=True)
    want = torch.nn.functional.cross_entropy(lt, torch.from_numpy(labels))
    want.backward()
    tol = 2e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(fast[0].data, want.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(fast[1].data, lt.grad.numpy(), rtol=10 * tol, atol=tol)


def test_cross_entropy_saved_values_live_on_their_own_node():
    rng = np.random.default_rng(4)
    a = dg.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    b = dg.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    y = rng.integers(0, 4, 6)
    la = dg.cross_entropy(a, y)
    lb = dg.cross_entropy(b, y)  # each loss keeps its own forward's exponentials
    for t, loss in ((a, la), (b, lb)):
        s = t.data - t.data.max(axis=-1, keepdims=True)  # independent of the op's forward
        np.testing.assert_array_equal(loss._residuals["e"], np.exp(s))
    la.backward()                # frees a's graph: its saved values go with it
    assert la._residuals is None
    lb.backward(retain_graph=True)  # b's are kept (and left intact) for the next pass
    saved_e = lb._residuals["e"].copy()
    lb.backward()
    np.testing.assert_array_equal(saved_e, np.exp(b.data - b.data.max(-1, keepdims=True)))
    assert lb._residuals is None
    with pytest.raises(RuntimeError):
        lb.backward()            # the freed-graph rule: a third pass refuses
    for t, loss in ((a, la), (b, lb)):
        r = nnops._ce_residual(t.data, y)
        times = 1 if t is a else 2
        np.testing.assert_array_equal(t.grad.data, r * times if times == 2 else r)
        assert loss.item() == pytest.approx(float(nnops._ce_forward(t.data, y).out))
    # the saved exponentials never leak into a create_graph pass or a forward-mode tangent
    c = dg.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    lc = dg.cross_entropy(c, y)
    r = nnops._ce_residual(c.data, y)
    (gc,) = autodiff.grad(lc, c, create_graph=True)
    assert gc.requires_grad
    np.testing.assert_allclose(gc.data, r, rtol=1e-6, atol=1e-7)
    t = rng.standard_normal((6, 4)).astype(np.float32)
    (tan,) = autodiff.forward_tangents([lc], [c], [t])
    np.testing.assert_allclose(tan, np.sum(t * r), rtol=1e-5)
    lc.backward()
    np.testing.assert_array_equal(c.grad.data, r)
    with dg.no_grad():  # evaluation keeps nothing alive
        assert type(dg.cross_entropy(c, y)) is dg.Tensor


@pytest.mark.parametrize("shape", [(32, 10), (512, 10), (3, 32), (4, 33), (1, 1), (0, 5),
                                   (6, 0)])
def test_row_max_is_the_reduction(shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32)
    if a.size > 3:
        a.flat[[1, 2]] = [np.inf, -np.inf]
    if a.size > 7:
        a.flat[7] = np.nan
    if shape[1] == 0:  # no identity for max: both refuse
        with pytest.raises(ValueError):
            np.maximum.reduce(a, axis=-1, keepdims=True)
        with pytest.raises(ValueError):
            nnops._row_max(a)
        return
    want = np.maximum.reduce(a, axis=-1, keepdims=True)
    got = nnops._row_max(a)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(nnops._row_max(a[:, ::-1]), want)  # not contiguous


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint64", ">i8",
                                   "float64"])
def test_label_range_check_in_one_reduction(dtype):
    logits = dg.tensor(np.zeros((5, 4)))
    ok = np.array([0, 3, 1, 2, 0]).astype(dtype)
    assert dg.cross_entropy(logits, ok).item() == pytest.approx(np.log(4))
    high = np.array([0, 3, 4, 2, 0]).astype(dtype)
    with pytest.raises(ValueError, match=r"label 4 at position \(2,\) is outside \[0, 4\)"):
        dg.cross_entropy(logits, high)
    if np.dtype(dtype).kind in "if":
        low = np.array([0, 3, 1, -1, 0]).astype(dtype)
        with pytest.raises(ValueError, match=r"label -1 at position \(3,\) is outside"):
            dg.cross_entropy(logits, low)
    huge = np.iinfo(np.int64).min if np.dtype(dtype).kind == "i" else None
    if huge is not None and np.dtype(dtype).itemsize == 8:
        with pytest.raises(ValueError, match="outside"):
            dg.cross_entropy(logits, np.array([0, 0, huge, 0, 0]).astype(dtype))


def test_sequential_calls_forward_directly_but_honours_call_and_instance_forward():
    seen = []

    class Loud(nn.Module):
        def forward(self, x):
            return x * 2

        def __call__(self, x):
            seen.append("call")
            return super().__call__(x) + 1

    class Plain(nn.Module):
        def forward(self, x):
            return x - 1

    p = Plain()
    p.forward = lambda x: x * 10  # an instance's own forward wins, as through __call__
    seq = nn.Sequential(Loud(), Plain(), p)
    out = seq(dg.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(out.data, [20.0, 40.0])
    assert seen == ["call"]


def _batches(steps, sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield rng.random((batch, sizes[0])).astype(np.float32), rng.integers(0, sizes[-1], batch)


def _sgd_step(net, opt, x, y):
    opt.zero_grad()
    loss = dg.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def _train(steps, sizes=(784, 256, 256, 10), batch=32):
    net = nn.MLP(list(sizes), activation="tanh", seed=1)
    opt = optim.SGD(net.parameters(), lr=0.1)
    losses = [_sgd_step(net, opt, x, y) for x, y in _batches(steps, sizes, batch)]
    return losses, [p.data.copy() for p in net.parameters()], \
        [p.grad.data.copy() for p in net.parameters()]


def test_mlp_sgd_steps_with_every_fast_path_equal_the_plain_steps(swap_where_identical, plain):
    fast = _train(5)
    slow = plain(lambda: _train(5))
    assert fast[0] == slow[0]
    for f, s in zip(fast[1] + fast[2], slow[1] + slow[2], strict=True):
        assert _bits(f) == _bits(s)
    key = (32, 784, 256, np.dtype(np.float32))
    assert swap_where_identical[key] == _swap_is_identical(*key[:3])


def _swap_is_identical(m, k, n):
    """Whether (W xᵀ)ᵀ + b gives x Wᵀ + b's bits at this shape on this CPU (checked directly)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    plain = x @ w.T + b
    swapped = (w @ x.T).T + b
    return plain.tobytes() == swapped.tobytes()


def test_mlp_sgd_steps_with_the_fast_paths_match_torch():
    sizes, batch = (784, 256, 256, 10), 32
    net = nn.MLP(list(sizes), activation="tanh", seed=1)
    opt = optim.SGD(net.parameters(), lr=0.1)
    layers = []
    for i, lin in enumerate(net.layers):
        tl = torch.nn.Linear(lin.in_features, lin.out_features)
        with torch.no_grad():
            tl.weight.copy_(torch.from_numpy(lin.weight.data))
            tl.bias.copy_(torch.from_numpy(lin.bias.data))
        layers += [tl] + ([torch.nn.Tanh()] if i < len(net.layers) - 1 else [])
    tnet = torch.nn.Sequential(*layers)
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1)
    for x, y in _batches(5, sizes, batch):
        loss = _sgd_step(net, opt, x, y)
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        topt.step()
        assert loss == pytest.approx(tloss.item(), rel=1e-5)
    for p, tp in zip(net.parameters(), tnet.parameters(), strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-4, atol=1e-5)
