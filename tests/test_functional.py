"""Transforms against torch.func and finite differences: grad, vjp, jvp, jacobian, hessian."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from conftest import numeric_grad, torch
from dagrad import autodiff

tf = torch.func
rng = np.random.default_rng(42)


def rosen(x):
    return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2


@pytest.mark.parametrize("p", [(1.5, 2.0), (-1.2, 1.0), (0.0, 0.0), (1.0, 1.0), (2.5, -3.0)])
def test_rosenbrock_hessian_closed_form(p):
    x1, x2 = p
    h = dg.hessian(rosen)(dg.tensor(p, dtype="float64"))
    closed = [[1200 * x1**2 - 400 * x2 + 2, -400 * x1], [-400 * x1, 200]]
    np.testing.assert_allclose(h.data, closed, rtol=1e-12, atol=1e-9)
    th = tf.hessian(rosen)(torch.tensor(p, dtype=torch.float64))
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-12)


def matfun(a, b):
    """A random-ish function of matrices: (3,4),(4,2) -> (3,2)."""
    return dg.tanh(a @ b) * dg.softmax(a, axis=-1).sum(axis=-1, keepdims=True) + (a[:, :2] * b[0])


def matfun_t(a, b):
    return torch.tanh(a @ b) * torch.softmax(a, -1).sum(-1, keepdim=True) + (a[:, :2] * b[0])


A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacobian_matches_torch(mode, argnums):
    j = dg.jacobian(matfun, argnums=argnums, mode=mode)(dg.tensor(A), dg.tensor(B))
    tj = (tf.jacrev if mode == "reverse" else tf.jacfwd)(matfun_t, argnums=argnums)(
        torch.tensor(A), torch.tensor(B))
    js, tjs = (j, tj) if isinstance(argnums, tuple) else ((j,), (tj,))
    for a, b in zip(js, tjs, strict=True):
        assert a.shape == tuple(b.shape)  # out.shape + in.shape
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-10, atol=1e-12)


def test_jacobian_modes_agree_on_random_matrix_functions():
    for seed in range(5):
        r = np.random.default_rng(seed)
        a, b = r.standard_normal((3, 4)), r.standard_normal((4, 2))
        jr = dg.jacobian(matfun, argnums=(0, 1))(a, b)
        jf = dg.jacobian(matfun, argnums=(0, 1), mode="forward")(a, b)
        for x, y in zip(jr, jf, strict=True):
            np.testing.assert_allclose(x.data, y.data, rtol=1e-10, atol=1e-12)


def test_jacobian_is_one_batched_pass(monkeypatch):
    calls = {"backprop": 0, "forward": 0}
    real_bp, real_fw = autodiff.backprop, autodiff.forward_tangents

    def bp(*a, **k):
        calls["backprop"] += 1
        return real_bp(*a, **k)

    def fw(*a, **k):
        calls["forward"] += 1
        return real_fw(*a, **k)

    monkeypatch.setattr(autodiff, "backprop", bp)
    monkeypatch.setattr(autodiff, "forward_tangents", fw)
    dg.jacobian(matfun)(A, B)
    dg.jacobian(matfun, mode="forward")(A, B)
    assert calls == {"backprop": 1, "forward": 1}


def _mlp_softmax(x, params):
    (w1, b1), (w2, b2), (w3, b3) = params
    z1 = dg.tanh(dg.linear(x, w1, b1))
    z2 = dg.tanh(dg.linear(z1, w2, b2))
    return dg.softmax(dg.linear(z2, w3, b3))


def _params(seed=0, sizes=(784, 256, 256, 10)):
    r = np.random.default_rng(seed)
    return [(r.uniform(-1, 1, (o, i)) / np.sqrt(i), r.uniform(-1, 1, o) / np.sqrt(i))
            for i, o in zip(sizes[:-1], sizes[1:], strict=True)]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_of_softmax_mlp_wrt_input(mode):
    params = _params()
    x = np.random.default_rng(1).uniform(0, 1, 784)
    j = dg.jacobian(lambda v: _mlp_softmax(v, params), mode=mode)(dg.tensor(x))
    assert j.shape == (10, 784)
    tparams = [(torch.tensor(w), torch.tensor(b)) for w, b in params]

    def tmlp(v):
        z = v
        for k, (w, b) in enumerate(tparams):
            o = torch.nn.functional.linear(z, w, b)
            z = torch.tanh(o) if k < 2 else torch.softmax(o, -1)
        return z

    tj = tf.jacrev(tmlp)(torch.tensor(x))
    np.testing.assert_allclose(j.data, tj.numpy(), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(j.data.sum(axis=0), 0, atol=1e-13)  # softmax outputs sum to 1


def test_vjp_and_jvp_match_torch_func():
    v = rng.standard_normal((3, 2))
    out, pull = dg.vjp(matfun, dg.tensor(A), dg.tensor(B))
    ga, gb = pull(v)
    tout, tpull = tf.vjp(matfun_t, torch.tensor(A), torch.tensor(B))
    tga, tgb = tpull(torch.tensor(v))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ga.data, tga.numpy(), rtol=1e-10)
    np.testing.assert_allclose(gb.data, tgb.numpy(), rtol=1e-10)
    ta, tb = rng.standard_normal(A.shape), rng.standard_normal(B.shape)
    out2, tan = dg.jvp(matfun, (A, B), (ta, tb))
    _, ttan = tf.jvp(matfun_t, (torch.tensor(A), torch.tensor(B)),
                     (torch.tensor(ta), torch.tensor(tb)))
    np.testing.assert_allclose(tan.data, ttan.numpy(), rtol=1e-10)
    np.testing.assert_allclose(out2.data, out.data)


def test_vjp_pullback_accepts_a_batch_of_cotangents():
    vs = rng.standard_normal((5, 3, 2))
    _, pull = dg.vjp(matfun, dg.tensor(A), dg.tensor(B))
    ga, gb = pull(vs)
    assert ga.shape == (5, 3, 4) and gb.shape == (5, 4, 2)
    for k in range(5):
        np.testing.assert_allclose(ga.data[k], pull(vs[k])[0].data, rtol=1e-12)


def test_grad_argnums_and_value_and_grad():
    f = lambda x1, x2: 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2
    g1 = dg.grad(f)(dg.tensor(1.5, dtype="float64"), 2.0)
    g12 = dg.grad(f, argnums=(0, 1))(1.5, 2.0)
    val, (d1, d2) = dg.value_and_grad(f, argnums=(0, 1))(1.5, 2.0)
    assert g1.item() == 151.0 and g12[0].item() == 151.0 and g12[1].item() == -50.0
    assert val.item() == 6.5 and (d1.item(), d2.item()) == (151.0, -50.0)
    g2 = dg.grad(f, argnums=-1)(1.5, 2.0)
    assert g2.item() == -50.0
    with pytest.raises(ValueError, match="argnums 2 out of range"):
        dg.grad(f, argnums=2)(1.5, 2.0)
    with pytest.raises(ValueError, match="scalar"):
        dg.grad(lambda x: x * 2)(np.ones(3))


def test_grad_has_aux():
    g, aux = dg.grad(lambda x: ((x * x).sum(), x * 3), has_aux=True)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g.data, [2.0, 4.0])
    np.testing.assert_allclose(aux.data, [3.0, 6.0])


def test_grad_with_arrays_and_finite_differences():
    f = lambda x: (dg.sigmoid(x) * dg.log(x * x + 1)).sum()
    x0 = rng.standard_normal(5)
    g = dg.grad(f)(x0)
    num = numeric_grad(lambda v: f(dg.tensor(v)).item(), [x0], 0)
    np.testing.assert_allclose(g.data, num, rtol=1e-6, atol=1e-8)


def test_compositions():
    f = lambda x: (dg.tanh(x) * x).sum()
    x0 = np.array([0.3, -0.4])
    gg = dg.grad(lambda x: dg.grad(f)(x).sum())(x0)  # grad of grad
    jg = dg.jacobian(dg.grad(f))(x0)  # jacobian of grad = Hessian
    th = tf.hessian(lambda v: (torch.tanh(v) * v).sum())(torch.tensor(x0))
    np.testing.assert_allclose(jg.data, th.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.data, th.numpy().sum(axis=0), rtol=1e-12)
    # closure over an outer variable (perturbations stay apart)
    outer = dg.grad(lambda x: x * dg.grad(lambda y: x * y)(dg.tensor(1.0, dtype="float64")))
    assert outer(dg.tensor(2.0, dtype="float64")).item() == pytest.approx(4.0)
    # jvp of grad (forward over reverse), and vjp of jacobian
    _, hv = dg.jvp(dg.grad(f), (x0,), (np.array([1.0, 0.0]),))
    np.testing.assert_allclose(hv.data, th.numpy()[:, 0], rtol=1e-12)


def test_per_sample_gradients_through_the_batching():
    r = np.random.default_rng(3)
    w = r.standard_normal((4, 3))
    xs, ys = r.standard_normal((6, 3)), r.integers(0, 4, 6)

    def losses(w_, x_):  # per-sample losses, shape (6,)
        lsm = dg.log_softmax(x_ @ w_.T)
        return -lsm[np.arange(6), ys]

    per_w = dg.jacobian(losses, argnums=0)(w, xs)  # (6, 4, 3): one gradient per sample
    per_x = dg.jacobian(losses, argnums=1)(w, xs)
    tw = torch.tensor(w)

    def tloss(w_, x_, y_):
        return -(torch.log_softmax(x_ @ w_.T, -1) * y_).sum()

    onehot = torch.nn.functional.one_hot(torch.tensor(ys), 4).double()
    tper_w = tf.vmap(tf.grad(tloss), in_dims=(None, 0, 0))(tw, torch.tensor(xs), onehot)
    np.testing.assert_allclose(per_w.data, tper_w.numpy(), rtol=1e-10)
    # for the inputs, per-sample gradients are the gradient of the summed loss
    gx = dg.grad(lambda x_: losses(w, x_).sum())(xs)
    np.testing.assert_allclose(gx.data, np.einsum("iik->ik", per_x.data), rtol=1e-12)


def test_gradcheck_passes_and_catches_a_wrong_gradient():
    x = dg.tensor([0.3, -1.2, 2.0], dtype="float64", name="x")
    assert dg.gradcheck(lambda v: dg.tanh(v) * v ** 2, x)
    assert dg.gradcheck(lambda a, b: a @ b, A, B)
    with pytest.raises(dg.GradcheckError) as e:
        dg.gradcheck(lambda v: v * v.detach(), x)
    msg = str(e.value)
    assert "x" in msg and "input index" in msg and "analytic" in msg and "numeric" in msg
    # the worst entry is named: analytic x_i versus numeric 2·x_i
    assert "analytic 2" in msg and "numeric 4" in msg


def test_gradcheck_hands_every_input_to_f_as_a_tensor():
    a = dg.tensor([0.3, -1.2, 2.0], dtype="float64", name="a")
    b = dg.tensor([0.5, 1.5, 4.0], dtype="float64", name="b")
    seen = []

    def f(u, v):
        seen.append((type(u), type(v)))
        return (u * v.log()).sum()

    assert dg.gradcheck(f, a, b)
    assert seen and all(t == (dg.Tensor, dg.Tensor) for t in seen)
    assert dg.gradcheck(lambda u, v: (u * v.log()).sum(), a.data, b.data)  # arrays in, too
    # still catches a wrong gradient w.r.t. the second input (d/dv of u·log v is u/v, not 0)
    with pytest.raises(dg.GradcheckError, match="for b"):
        dg.gradcheck(lambda u, v: (u * v.detach().log()).sum(), a, b)


def test_gradcheck_every_op():
    x = dg.tensor(rng.uniform(0.5, 1.5, (2, 3)), dtype="float64")
    fns = [dg.exp, dg.log, dg.sqrt, dg.tanh, dg.sigmoid, lambda v: dg.softmax(v),
           lambda v: dg.log_softmax(v, axis=0), lambda v: v.max(axis=1), lambda v: v.mean(0),
           lambda v: v[[1, 1, 0]], lambda v: v.T @ v, lambda v: dg.cross_entropy(v, [0, 2]),
           lambda v: dg.stack([v, v * 2]), lambda v: dg.concatenate([v, v], axis=1),
           lambda v: v ** 3, lambda v: 2.0 ** v, lambda v: v ** v, lambda v: dg.abs(v - 1.01)]
    for f in fns:
        assert dg.gradcheck(f, x)


def test_transforms_reject_non_tensor_returns():
    with pytest.raises(TypeError, match="must return a dagrad Tensor"):
        dg.grad(lambda x: np.sum(np.asarray(x)))(np.ones(2))


def test_dense_jacobian_limit_is_checked_before_allocating():
    with dg.dense_limit(1000):
        with pytest.raises(dg.MemoryLimitError, match="would take"):
            dg.jacobian(lambda x: x * 2)(np.ones(100))
