"""Cotangents no one else holds, written in place: vjp rules (ops.inplace_vjp;
autodiff._owned_rule) and sums of contributions (autodiff._owned_sum).

Each derived rule gives the op table's own result bit for bit; backprop with the shortcut on
gives the bits it gives with it off, and PyTorch's gradients.  The cases where the cotangent is
shared — one array reaching two nodes through an identity rule, a retained or hooked gradient,
a requested intermediate, a view — keep their values, and each of them is shown to go wrong
when the ownership check is switched off, so these tests can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dagrad as dg
from dagrad import autodiff, fastpaths
from dagrad.ops import OPS
from dagrad.ops.inplace_vjp import UNDERIVED, inplace_vjp

N = 64 * 64  # above fastpaths.INPLACE_VJP_MIN_SIZE: the shortcut applies

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 30.0, -30.0, 1.0]


def _bits(a) -> bytes:
    a = np.asarray(a.data if isinstance(a, dg.Tensor) else a)
    return a.dtype.str.encode() + repr(a.shape).encode() + np.ascontiguousarray(a).tobytes()


def _operand(name: str, dtype, rng) -> np.ndarray:
    a = rng.standard_normal(N).astype(dtype) * 3
    a[: len(SPECIAL)] = SPECIAL
    if name in ("log", "sqrt"):
        a = np.abs(a)
    if name == "log1p":
        a = np.maximum(a, -0.5)
    return a


def test_the_derivation_covers_the_usual_activations():
    """The shortcut exists for the ops an MLP runs (so it cannot vanish unnoticed)."""
    derived = {name for name, op in OPS.items() if inplace_vjp(op) is not None}
    assert {"tanh", "sigmoid", "relu", "exp", "log", "neg", "softplus"} <= derived
    # multi-input, reducing, shape and attribute-taking ops have none
    assert not derived & {"mul", "add", "sum", "reshape", "matmul", "leaky_relu", "linear"}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items() if inplace_vjp(op)))
def test_derived_rule_writes_the_rules_own_bits_into_g(name, dtype):
    op = OPS[name]
    rng = np.random.default_rng(7)
    a = _operand(name, dtype, rng)
    with np.errstate(all="ignore"):
        out = np.asarray(op.forward(a))
        g = rng.standard_normal(N).astype(dtype)
        g[-len(SPECIAL):] = SPECIAL
        want = op.vjp[0](g, a, out)
        written = g.copy()
        got = inplace_vjp(op)(written, a, out)
    assert got is written
    assert _bits(got) == _bits(want)


def _mlp_grads(activation: str, dtype: str, inplace: bool, monkeypatch) -> list[bytes]:
    monkeypatch.setattr(fastpaths, "INPLACE_VJP", inplace)
    rng = np.random.default_rng(0)
    scale = 0.02 if activation == "exp" else 0.3
    x = dg.tensor(rng.standard_normal((64, 50)), dtype=dtype)
    ws = [dg.tensor(rng.standard_normal(s) * scale, dtype=dtype, requires_grad=True)
          for s in [(50, 128), (128, 128), (128, 10)]]
    act = getattr(dg, activation)
    h = x
    for w in ws[:-1]:
        h = act(h @ w)
    loss = dg.cross_entropy(h @ ws[-1], np.arange(64) % 10)
    loss.backward()
    return [_bits(w.grad) for w in ws]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "exp"])
def test_backward_gives_the_same_bits_with_the_shortcut_on_and_off(activation, dtype,
                                                                   monkeypatch):
    on = _mlp_grads(activation, dtype, True, monkeypatch)
    off = _mlp_grads(activation, dtype, False, monkeypatch)
    assert on == off


def test_the_mlp_step_takes_the_shortcut(monkeypatch):
    """Both hidden tanh layers of an eager step write into their cotangent."""
    op = OPS["tanh"]
    rule = inplace_vjp(op)
    calls = []

    def spy(g, a, out):
        calls.append(g.shape)
        return rule(g, a, out)

    monkeypatch.setattr(op, "inplace_vjp", spy)
    net = dg.nn.MLP([784, 256, 256, 10], activation="tanh")
    x = dg.tensor(np.random.default_rng(1).standard_normal((32, 784)), dtype="float32")
    dg.cross_entropy(net(x), np.arange(32) % 10).backward()
    assert calls == [(32, 256), (32, 256)]


def test_against_pytorch(monkeypatch):
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((64, 80))
    w1, w2 = rng.standard_normal((80, 96)) * 0.3, rng.standard_normal((96, 96)) * 0.3
    x = dg.tensor(xs, requires_grad=True)
    a, b = dg.tensor(w1, requires_grad=True), dg.tensor(w2, requires_grad=True)
    (dg.sigmoid(dg.tanh(x @ a) @ b).exp() * 0.1).sum().backward()
    tx = torch.tensor(xs, requires_grad=True)
    ta, tb = torch.tensor(w1, requires_grad=True), torch.tensor(w2, requires_grad=True)
    (torch.sigmoid(torch.tanh(tx @ ta) @ tb).exp() * 0.1).sum().backward()
    for mine, theirs in [(x, tx), (a, ta), (b, tb)]:
        np.testing.assert_allclose(mine.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


# ----- shared cotangents: each case kept intact, and shown to break without the check ------
def _unchecked(monkeypatch):
    """The ownership check switched off: every eligible cotangent counts as owned."""
    monkeypatch.setattr(autodiff, "_getrefcount", lambda a: autodiff._SOLE)
    real = autodiff._owned_rule

    def no_view_check(op, g, data, x):
        if g.base is None or not g.flags.writeable:  # (a read-only view cannot be written)
            return real(op, g, data, x)
        rule = op.inplace_vjp
        return inplace_vjp(op) if rule is UNDERIVED else rule
    monkeypatch.setattr(autodiff, "_owned_rule", no_view_check)
    monkeypatch.setattr(autodiff, "_owned_sum", lambda c, prev: type(prev) is np.ndarray
                        and prev.shape == c.shape and prev.dtype == c.dtype)


def _data(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _one_cotangent_two_nodes():
    """add's identity rule hands one array to both tanh nodes."""
    u, v, c = _data(0, N), _data(1, N), _data(2, N)
    du, dv = dg.tensor(u, requires_grad=True), dg.tensor(v, requires_grad=True)
    ((dg.tanh(du) + dg.tanh(dv)) * c).sum().backward()
    tu, tv = torch.tensor(u, requires_grad=True), torch.tensor(v, requires_grad=True)
    ((torch.tanh(tu) + torch.tanh(tv)) * torch.tensor(c)).sum().backward()
    return [(du.grad.data, tu.grad.numpy()), (dv.grad.data, tv.grad.numpy())]


def _retained():
    x, c = _data(3, N), _data(4, N)
    dx = dg.tensor(x, requires_grad=True)
    h = dg.tanh(dx)
    h.retain_grad()
    (dg.sigmoid(h) * c).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    th = torch.tanh(tx)
    th.retain_grad()
    (torch.sigmoid(th) * torch.tensor(c)).sum().backward()
    return [(h.grad.data, th.grad.numpy()), (dx.grad.data, tx.grad.numpy())]


def _hooked():
    x, c = _data(5, N), _data(6, N)
    seen, tseen = [], []
    dx = dg.tensor(x, requires_grad=True)
    h = dg.tanh(dx)
    h.register_hook(seen.append)
    (dg.exp(h) * c).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    th = torch.tanh(tx)
    th.register_hook(tseen.append)
    (torch.exp(th) * torch.tensor(c)).sum().backward()
    return [(seen[0].data, tseen[0].numpy()), (dx.grad.data, tx.grad.numpy())]


def _requested():
    """dg.grad returns an intermediate's cotangent and goes on past it."""
    x, c = _data(7, N), _data(8, N)
    dx = dg.tensor(x, requires_grad=True)
    h = dg.tanh(dx)
    y = (dg.tanh(h) * c).sum()
    gh, gx = dg.autograd_grad(y, [h, dx])
    tx = torch.tensor(x, requires_grad=True)
    th = torch.tanh(tx)
    ty = (torch.tanh(th) * torch.tensor(c)).sum()
    tgh, tgx = torch.autograd.grad(ty, [th, tx])
    return [(gh.data, tgh.numpy()), (gx.data, tgx.numpy())]


def _through_a_view():
    """A retained gradient whose view (reshape's vjp) reaches a tanh node."""
    x, c = _data(9, 64, 64), _data(10, N)
    dx = dg.tensor(x, requires_grad=True)
    s = dg.tanh(dx).reshape(-1)
    s.retain_grad()
    (s * c).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ts = torch.tanh(tx).reshape(-1)
    ts.retain_grad()
    (ts * torch.tensor(c)).sum().backward()
    return [(s.grad.data, ts.grad.numpy()), (dx.grad.data, tx.grad.numpy())]


def _sum_into_a_retained_cotangent():
    """x + x: add's identity rule hands its cotangent (y.grad, retained) to x twice; the
    second contribution must not be summed into that array."""
    x, c = _data(13, N), _data(14, N)
    dx = dg.tensor(x, requires_grad=True)
    y = dx + dx
    y.retain_grad()
    (dg.tanh(y) * c).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = tx + tx
    ty.retain_grad()
    (torch.tanh(ty) * torch.tensor(c)).sum().backward()
    return [(y.grad.data, ty.grad.numpy()), (dx.grad.data, tx.grad.numpy())]


def _sum_into_a_view():
    """x reaches the loss through a reshape (its contribution a view of a.grad, retained)
    and through a product: the view must not take the sum."""
    x, c = _data(15, 64, 64), _data(16, N)
    dx = dg.tensor(x, requires_grad=True)
    a = dx.reshape(-1)
    a.retain_grad()
    ((dg.tanh(a) * c).sum() + dg.tanh(dx * 3.0).sum()).backward()
    tx = torch.tensor(x, requires_grad=True)
    ta = tx.reshape(-1)
    ta.retain_grad()
    ((torch.tanh(ta) * torch.tensor(c)).sum() + torch.tanh(tx * 3.0).sum()).backward()
    return [(a.grad.data, ta.grad.numpy()), (dx.grad.data, tx.grad.numpy())]


SHARED = [_one_cotangent_two_nodes, _retained, _hooked, _requested, _through_a_view,
          _sum_into_a_retained_cotangent, _sum_into_a_view]


def _agrees(pairs) -> bool:
    return all(np.allclose(mine, theirs, rtol=1e-12, atol=1e-14) for mine, theirs in pairs)


@pytest.mark.parametrize("case", SHARED, ids=lambda f: f.__name__.strip("_"))
def test_a_shared_cotangent_is_never_overwritten(case):
    assert _agrees(case())


@pytest.mark.parametrize("case", SHARED, ids=lambda f: f.__name__.strip("_"))
def test_without_the_ownership_check_each_case_goes_wrong(case, monkeypatch):
    _unchecked(monkeypatch)
    assert not _agrees(case())


def test_a_given_cotangent_is_left_as_it_was():
    x = _data(11, N)
    for call in (lambda y, dx, g: y.backward(g), lambda y, dx, g: dg.autograd_grad(y, [dx], g)):
        dx = dg.tensor(x, requires_grad=True)
        y = dg.tanh(dg.tanh(dx))
        g = _data(12, N)
        kept = g.copy()
        call(y, dx, g)
        assert _bits(g) == _bits(kept)


def test_the_count_is_measured_for_this_interpreter():
    """_SOLE is what a lone local plus one tuple give here; one more holder is one more."""
    a = np.empty(1)
    args = (a,)

    def count(v):
        return autodiff._getrefcount(v)
    assert count(a) == autodiff._SOLE
    more = [a]
    assert count(a) == autodiff._SOLE + 1
    del args, more


def _fan_in_grads(inplace: bool, monkeypatch, dtype: str = "float64") -> list[bytes]:
    """A residual block used three times with one weight (an unrolled recurrence): the weight
    and every hidden state collect several contributions."""
    monkeypatch.setattr(fastpaths, "INPLACE_VJP", inplace)
    rng = np.random.default_rng(5)
    w = dg.tensor(rng.standard_normal((96, 96)) * 0.1, dtype=dtype, requires_grad=True)
    x = dg.tensor(rng.standard_normal((64, 96)), dtype=dtype, requires_grad=True)
    h = x
    for _ in range(3):
        h = h + dg.tanh(h @ w)
    (h * h).sum().backward()
    return [_bits(w.grad), _bits(x.grad)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sums_in_place_give_the_same_bits_as_fresh_sums(dtype, monkeypatch):
    assert _fan_in_grads(True, monkeypatch, dtype) == _fan_in_grads(False, monkeypatch, dtype)


def test_sums_in_place_are_taken_and_agree_with_pytorch(monkeypatch):
    taken = []

    def add(a, b, out):
        taken.append(out.shape)
        return np.add(a, b, out=out)
    monkeypatch.setattr(autodiff, "_ADD", add)  # called only for a sum written in place
    rng = np.random.default_rng(5)
    w0, x0 = rng.standard_normal((96, 96)) * 0.1, rng.standard_normal((64, 96))
    w, x = dg.tensor(w0, requires_grad=True), dg.tensor(x0, requires_grad=True)
    tw, tx = torch.tensor(w0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    h, th = x, tx
    for _ in range(3):
        h, th = h + dg.tanh(h @ w), th + torch.tanh(th @ tw)
    (h * h).sum().backward()
    (th * th).sum().backward()
    assert any(taken)
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


# ----- random graphs: every gradient, retained and hooked value the same with the shortcuts ----
def _random_graph(seed: int, inplace: bool, monkeypatch) -> list[bytes]:
    """A random DAG over a 64×64 input: unary ops, sums and products of earlier values, views
    (reshapes, transposes), some values retained or hooked; every gradient seen, as bits."""
    monkeypatch.setattr(fastpaths, "INPLACE_VJP", inplace)
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((64, 64)) * 0.5
    x = dg.tensor(x0, requires_grad=True)
    vals, seen, retained = [x], [], []
    unary = [dg.tanh, dg.sigmoid, dg.relu, lambda t: -t, lambda t: dg.exp(t * 0.1),
             lambda t: t.reshape(-1).reshape(64, 64), lambda t: t.T]
    for _ in range(12):
        kind = rng.integers(3)
        a = vals[rng.integers(len(vals))]
        if kind == 0:
            v = unary[rng.integers(len(unary))](a)
        else:
            b = vals[rng.integers(len(vals))]
            v = a + b if kind == 1 else a * dg.tanh(b)
        pick = rng.integers(4)
        if pick == 0:
            v.retain_grad()
            retained.append(v)
        elif pick == 1:
            v.register_hook(seen.append)
        vals.append(v)
    w = rng.standard_normal((64, 64))
    sum(((v * w).sum() for v in vals[-3:]), dg.tensor(0.0)).backward()
    out = [_bits(x.grad)] + [_bits(v.grad) for v in retained if v.grad is not None]
    return out + [_bits(g) for g in seen]


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_give_the_same_bits_with_the_shortcuts_on_and_off(seed, monkeypatch):
    assert _random_graph(seed, True, monkeypatch) == _random_graph(seed, False, monkeypatch)


def test_random_graphs_catch_an_engine_without_the_ownership_check(monkeypatch):
    """The random graphs above reach shared cotangents: with the check off, some differ."""
    differ = 0
    for seed in range(40):
        off = _random_graph(seed, False, monkeypatch)
        with monkeypatch.context() as m:
            _unchecked(m)
            on = _random_graph(seed, True, m)
        differ += on != off
    assert differ >= 5
