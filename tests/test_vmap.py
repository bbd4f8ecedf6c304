"""dg.vmap against torch.func.vmap (and torch.func.grad) and against a Python loop.

Per-sample gradients come from one batched forward and batched cotangents: the inner loss runs
twice (two traced samples), never once per sample.  Functions whose graph depends on the data
are mapped sample by sample, with the same results.
"""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg

torch = pytest.importorskip("torch")
tf = pytest.importorskip("torch.func")

RNG = np.random.default_rng(2026)
N, D, H, C = 7, 5, 6, 4


def _t(*arrays):
    return [torch.tensor(a) for a in arrays]


def _close(ours, theirs, rtol=1e-9, atol=1e-12):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _close(a, b, rtol, atol)
        return
    a = ours.numpy() if isinstance(ours, dg.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _mlp_params(dtype=np.float64):
    return [RNG.standard_normal(s).astype(dtype) for s in [(H, D), (H,), (C, H), (C,)]]


def _data(dtype=np.float64):
    return RNG.standard_normal((N, D)).astype(dtype), RNG.integers(0, C, N)


class Counting:
    """A loss that counts its calls (a per-sample loop would call it N times)."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def dg_mlp_loss(act):
    def loss(w1, b1, w2, b2, x, y):
        h = getattr(dg, act)(dg.linear(x, w1, b1))
        return dg.cross_entropy(dg.linear(h, w2, b2), y)
    return loss


def torch_mlp_loss(act):
    def loss(w1, b1, w2, b2, x, y):
        h = getattr(torch, act)(torch.nn.functional.linear(x, w1, b1))
        return torch.nn.functional.cross_entropy(torch.nn.functional.linear(h, w2, b2), y)
    return loss


@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid"])
def test_per_sample_gradients_match_torch_func_without_a_loop(act):
    params, (X, Y) = _mlp_params(), _data()
    loss = Counting(dg_mlp_loss(act))
    ours = dg.vmap(dg.grad(loss, argnums=(0, 1, 2, 3)), in_axes=(None,) * 4 + (0, 0))(
        *params, X, Y)
    theirs = tf.vmap(tf.grad(torch_mlp_loss(act), argnums=(0, 1, 2, 3)),
                     in_dims=(None,) * 4 + (0, 0))(*_t(*params, X, Y))
    _close(ours, theirs)
    assert loss.calls == 2  # two traced samples, then one batched forward and backward
    loop = [dg.grad(dg_mlp_loss(act), argnums=(0, 1, 2, 3))(*params, X[i], Y[i])
            for i in range(N)]
    for k in range(4):
        np.testing.assert_allclose(ours[k].numpy(), np.stack([g[k].numpy() for g in loop]),
                                   rtol=1e-10, atol=1e-13)


def test_per_sample_gradients_in_float32_and_of_a_single_flat_parameter():
    w = RNG.standard_normal(D).astype(np.float32)
    X, Y = _data(np.float32)
    y = Y.astype(np.float32)

    def loss(w_, x, t):
        return (dg.sigmoid((x * w_).sum()) - t) ** 2

    def tloss(w_, x, t):
        return (torch.sigmoid((x * w_).sum()) - t) ** 2

    ours = dg.vmap(dg.grad(loss), in_axes=(None, 0, 0))(w, X, y)
    theirs = tf.vmap(tf.grad(tloss), in_dims=(None, 0, 0))(*_t(w, X, y))
    assert ours.dtype == np.float32
    _close(ours, theirs, rtol=2e-5, atol=1e-6)


def test_value_and_grad_and_has_aux_per_sample():
    params, (X, Y) = _mlp_params(), _data()
    f = dg_mlp_loss("tanh")

    def with_aux(w1, b1, w2, b2, x, y):
        logits = dg.linear(dg.tanh(dg.linear(x, w1, b1)), w2, b2)
        return dg.cross_entropy(logits, y), logits

    (vals, grads) = dg.vmap(dg.value_and_grad(f, argnums=0), in_axes=(None,) * 4 + (0, 0))(
        *params, X, Y)
    tv, tg = tf.vmap(tf.grad_and_value(torch_mlp_loss("tanh"), argnums=0),
                     in_dims=(None,) * 4 + (0, 0))(*_t(*params, X, Y))[::-1]
    _close(vals, tv)
    _close(grads, tg)
    g, logits = dg.vmap(dg.grad(with_aux, argnums=2, has_aux=True),
                        in_axes=(None,) * 4 + (0, 0))(*params, X, Y)
    assert logits.shape == (N, C)
    want = dg.linear(dg.tanh(dg.linear(dg.tensor(X), params[0], params[1])), params[2], params[3])
    np.testing.assert_allclose(logits.numpy(), want.numpy(), rtol=1e-12)
    _close(g, tf.vmap(tf.grad(torch_mlp_loss("tanh"), argnums=2),
                      in_dims=(None,) * 4 + (0, 0))(*_t(*params, X, Y)))


def test_gradient_with_respect_to_the_batched_input():
    params, (X, Y) = _mlp_params(), _data()
    loss = Counting(dg_mlp_loss("tanh"))
    ours = dg.vmap(dg.grad(loss, argnums=4), in_axes=(None,) * 4 + (0, 0))(*params, X, Y)
    theirs = tf.vmap(tf.grad(torch_mlp_loss("tanh"), argnums=4),
                     in_dims=(None,) * 4 + (0, 0))(*_t(*params, X, Y))
    _close(ours, theirs)
    assert loss.calls == 2


# ----- plain functions ---------------------------------------------------------------------------
W = RNG.standard_normal((3, D))
CASES = {
    "elementwise+reduce": (lambda x: (x * x).sum() + x.max() - x.mean(),
                           lambda x: (x * x).sum() + x.max() - x.mean()),
    "W @ x": (lambda x: dg.tensor(W) @ x, lambda x: torch.tensor(W) @ x),
    "x @ W.T": (lambda x: x @ dg.tensor(W).T, lambda x: x @ torch.tensor(W).T),
    "x . x": (lambda x: x @ x, lambda x: x @ x),
    "softmax": (lambda x: dg.softmax(x * 2, -1), lambda x: torch.softmax(x * 2, -1)),
    "reshape/transpose": (lambda x: (x.reshape(1, D) * dg.ones(2, 1)).T.sum(1),
                          lambda x: (x.reshape(1, D) * torch.ones(2, 1, dtype=x.dtype)).T.sum(1)),
    "index": (lambda x: x[1:4] * x[0] + x[[0, 0, 2]], lambda x: x[1:4] * x[0] + x[[0, 0, 2]]),
    "cat/stack": (lambda x: dg.stack([dg.cat([x, x * 2]), dg.cat([x.exp(), dg.ones(D)])]),
                  lambda x: torch.stack([torch.cat([x, x * 2]),
                                         torch.cat([x.exp(), torch.ones(D, dtype=x.dtype)])])),
    "norm/var": (lambda x: x.norm() + x.var() + x.std(correction=0),
                 lambda x: x.norm() + x.var() + x.std(correction=0)),
    "broadcast": (lambda x: dg.broadcast_to(x, (3, D)) + dg.tensor(W),
                  lambda x: torch.broadcast_to(x, (3, D)) + torch.tensor(W)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_vmap_of_plain_functions_matches_torch_in_one_batched_replay(name):
    ours, theirs = CASES[name]
    X = RNG.standard_normal((N, D))
    counted = Counting(ours)
    _close(dg.vmap(counted)(X), tf.vmap(theirs)(torch.tensor(X)))
    assert counted.calls == 2


def test_masks_are_recomputed_on_the_batch():
    """A comparison inside f (a mask, norm's zero guard) is replayed on the batch, so a sample
    whose mask differs from the traced ones still gets its own (here: a zero vector's norm has
    torch's zero gradient, and relu-by-mask matches torch)."""
    X = RNG.standard_normal((N, D))
    X[3] = 0.0
    w = RNG.standard_normal(D)
    f = Counting(lambda w_, x: (w_ * x).norm() + (x * (x > 0.2)).sum() * w_[0])
    got = dg.vmap(dg.grad(f), in_axes=(None, 0))(w, X)
    want = tf.vmap(tf.grad(lambda w_, x: (w_ * x).norm() + (x * (x > 0.2)).sum() * w_[0]),
                   in_dims=(None, 0))(*_t(w, X))
    _close(got, want)
    assert f.calls == 2


def test_in_axes_out_axes_and_several_outputs():
    X = RNG.standard_normal((D, N))   # the batch on axis 1
    b = RNG.standard_normal(D)

    def f(x, c):
        return {"s": (x + c).sum(), "v": (x * c, x.exp())}

    def tfn(x, c):
        return {"s": (x + c).sum(), "v": (x * c, x.exp())}

    ours = dg.vmap(f, in_axes=(1, None), out_axes=(0, 1, 0))(X, b)
    theirs = tf.vmap(tfn, in_dims=(1, None), out_dims={"s": 0, "v": (1, 0)})(*_t(X, b))
    _close(ours["s"], theirs["s"])
    _close(list(ours["v"]), list(theirs["v"]))
    neg = dg.vmap(lambda x: x * 2, in_axes=-1, out_axes=-1)(X)
    np.testing.assert_allclose(neg.numpy(), X * 2)


def test_outputs_that_do_not_depend_on_the_batch_are_broadcast_or_kept():
    X = RNG.standard_normal((N, D))
    out = dg.vmap(lambda x: (x.sum(), dg.ones(2)))(X)
    assert out[1].shape == (N, 2)
    kept = dg.vmap(lambda x: (x.sum(), dg.ones(2)), out_axes=(0, None))(X)
    assert kept[1].shape == (2,)
    with pytest.raises(ValueError, match="out_axes=None for an output that depends"):
        dg.vmap(lambda x: x.sum(), out_axes=None)(X)


def test_data_dependent_functions_fall_back_to_the_loop_with_the_same_results():
    X = RNG.standard_normal((N, D))
    X[:, 0] = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)  # the branch differs by sample

    def masked(x):
        return (x * dg.tensor(x.numpy() > 0)).sum()     # a mask made outside dagrad

    def branchy(x):
        return x.exp().sum() if x[0].item() > 0 else x.sum() * 3   # a Python branch

    def labels(x, y):
        return (x * dg.tensor(np.eye(D)[y.item()])).sum()  # a constant made from a label

    Y = RNG.integers(0, D, N)
    for f, args in ((masked, (X,)), (branchy, (X,)), (labels, (X, Y))):
        got = dg.vmap(f)(*args).numpy()
        want = np.array([f(*[dg.tensor(a[i]) for a in args]).item() for i in range(N)])
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_per_sample_gradient_of_a_data_dependent_loss_is_still_right():
    w = RNG.standard_normal(D)
    X = RNG.standard_normal((N, D))

    def loss(w_, x):
        z = (w_ * x).sum()
        return z * z if z.item() > 0 else -z   # a branch on a value

    def tloss(w_, x):
        z = (w_ * x).sum()
        return torch.where(z > 0, z * z, -z)

    _close(dg.vmap(dg.grad(loss), in_axes=(None, 0))(w, X),
           tf.vmap(tf.grad(tloss), in_dims=(None, 0))(*_t(w, X)))


def test_vmap_inside_grad_records_the_mapped_calls():
    w = RNG.standard_normal(D)
    X = RNG.standard_normal((N, D))
    f = dg.grad(lambda w_: dg.vmap(lambda x: dg.tanh((w_ * x).sum()))(X).sum())
    tw = torch.tensor(w, requires_grad=True)
    torch.func.vmap(lambda x: torch.tanh((tw * x).sum()))(torch.tensor(X)).sum().backward()
    _close(f(w), tw.grad)


def test_one_sample_and_nested_vmap():
    X = RNG.standard_normal((1, D))
    np.testing.assert_allclose(dg.vmap(lambda x: x.sum())(X).numpy(), X.sum(1))
    X3 = RNG.standard_normal((3, 4, D))
    inner = dg.vmap(lambda x: (x * x).sum())
    np.testing.assert_allclose(dg.vmap(inner)(X3).numpy(), (X3 * X3).sum(-1), rtol=1e-12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: dg.vmap(lambda x: x, in_axes="0"), TypeError, "in_axes must be an int"),
    (lambda: dg.vmap(lambda x: x, in_axes=(0.5,)), TypeError, "entries must be an int"),
    (lambda: dg.vmap(lambda x: x, in_axes=((0, 0),)), TypeError, "nested in_axes"),
    (lambda: dg.vmap(3), TypeError, "expected a function"),
    (lambda: dg.vmap(lambda x, y: x, in_axes=(0,))(np.ones(3), np.ones(3)), ValueError,
     "in_axes has 1 entries but the function was called with 2"),
    (lambda: dg.vmap(lambda x: x, in_axes=2)(np.ones((3, 2))), ValueError,
     "in_axes=2 is out of range for argument 0 of rank 2"),
    (lambda: dg.vmap(lambda x: x)(np.float64(3.0)), ValueError, "0-d"),
    (lambda: dg.vmap(lambda x, y: x + y)(np.ones(3), np.ones(4)), ValueError,
     "argument 0: 3, argument 1: 4"),
    (lambda: dg.vmap(lambda x: x, in_axes=None)(np.ones(3)), ValueError, "maps no argument"),
    (lambda: dg.vmap(lambda x: x)([np.ones(3)]), TypeError, "must be a Tensor or an array"),
    (lambda: dg.vmap(lambda x: x)(np.zeros((0, 2))), ValueError, "empty"),
    (lambda: dg.vmap(lambda x: x, out_axes=3)(np.ones((3, 2))), ValueError,
     "out_axes=3 is out of range"),
])
def test_unsupported_axes_are_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_branch_the_two_traced_samples_share_is_still_mapped_per_sample():
    """Samples 0 and 1 (the ones vmap traces) take the same branch, sample 2 the other: a
    value read in Python (.item()) sends vmap to per-sample calls, never a wrong replay."""
    w = np.ones(3)
    X = np.array([[1.0, 2.0, 0.5], [0.3, 0.2, 0.1], [-2.0, -1.0, 0.5]])

    def loss(w_, x):
        z = (w_ * x).sum()
        return z * z if z.item() > 0 else -z

    got = dg.vmap(dg.grad(loss), in_axes=(None, 0))(w, X).numpy()
    want = np.stack([dg.grad(loss)(dg.tensor(w), dg.tensor(x)).numpy() for x in X])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    z = X @ w                                       # and the closed form: 2z·x or −x
    np.testing.assert_allclose(got, np.where(z[:, None] > 0, 2 * z[:, None] * X, -X))
