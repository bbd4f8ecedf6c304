"""The eager training step's shortcuts against PyTorch: plain SGD's update, cross-entropy's
gradient with a scalar cotangent, linear's weight gradient, and the version check that an
optimizer step must still arm (a value changed in place after the forward)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dagrad as dg
from dagrad import optim, versions
from dagrad.autodiff import grad as autograd_grad


def _mlp_pair(seed: int, sizes=(12, 9, 7, 5)):
    """A dagrad MLP and a torch Sequential with the same float32 weights."""
    net = dg.nn.MLP(list(sizes), activation="tanh", seed=seed)
    layers = []
    for i, lin in enumerate(net.layers):
        t = torch.nn.Linear(lin.in_features, lin.out_features)
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(lin.weight.data.copy()))
            t.bias.copy_(torch.from_numpy(lin.bias.data.copy()))
        layers.append(t)
        if i < len(net.layers) - 1:
            layers.append(torch.nn.Tanh())
    return net, torch.nn.Sequential(*layers)


@pytest.mark.parametrize("batch", [1, 6, 33])
def test_plain_sgd_training_matches_torch(batch):
    """Ten steps of plain SGD (the scratch-array path): losses, gradients, weights as torch's."""
    rng = np.random.default_rng(batch)
    net, ref = _mlp_pair(batch)
    opt = optim.SGD(net.parameters(), lr=0.3)
    topt = torch.optim.SGD(ref.parameters(), lr=0.3)
    for _ in range(10):
        x = rng.standard_normal((batch, 12)).astype(np.float32)
        y = rng.integers(0, 5, batch)
        opt.zero_grad()
        loss = dg.cross_entropy(net(dg.as_tensor(x)), y)
        loss.backward()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        np.testing.assert_allclose(float(loss.data), tloss.item(), rtol=1e-5)
        for p, tp in zip(net.parameters(), ref.parameters(), strict=True):
            np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-4, atol=1e-6)
        opt.step()
        topt.step()
        for p, tp in zip(net.parameters(), ref.parameters(), strict=True):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_plain_sgd_step_is_p_minus_lr_g_exactly():
    """p ← p − ηg in float32, bit for bit (closed form), for parameters with and without grad."""
    rng = np.random.default_rng(0)
    a = dg.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    b = dg.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    a0, b0 = a.data.copy(), b.data.copy()
    g = rng.standard_normal((4, 3)).astype(np.float32)
    a.grad = dg.tensor(g)
    opt = optim.SGD([a, b], lr=0.125)
    opt.step()
    assert a.data.tobytes() == (a0 - np.float32(0.125) * g).tobytes()
    assert b.data.tobytes() == b0.tobytes()  # no gradient: untouched
    assert versions.version(a.data) == 1 and versions.version(b.data) == 0


def test_plain_sgd_follows_a_parameter_whose_data_was_replaced():
    """The scratch array is remade when p.data changes shape (no stale buffer, no error)."""
    p = dg.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    p.grad = dg.tensor(np.full((2, 2), 2.0, np.float32))
    opt.step()
    np.testing.assert_array_equal(p.data, np.zeros((2, 2), np.float32))
    p.data = np.ones(5, np.float32)
    p.grad = dg.tensor(np.arange(5, dtype=np.float32))
    opt.step()
    np.testing.assert_array_equal(p.data, 1 - 0.5 * np.arange(5, dtype=np.float32))


@pytest.mark.parametrize("scale", [1.0, 2.5, -0.75])
def test_cross_entropy_gradient_with_scalar_cotangent_matches_torch(scale):
    """d(scale · CE)/dlogits and through a linear layer's W, b: as torch's (scale 1 skips ×g)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((9, 6)).astype(np.float32)
    w = rng.standard_normal((4, 6)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    y = rng.integers(0, 4, 9)
    xd, wd, bd = (dg.tensor(v, requires_grad=True) for v in (x, w, b))
    loss = dg.cross_entropy(dg.ops.linear(xd, wd, bd), y)
    (loss * scale if scale != 1.0 else loss).backward()
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    tl = torch.nn.functional.cross_entropy(torch.nn.functional.linear(xt, wt, bt),
                                           torch.from_numpy(y))
    (tl * scale).backward()
    for d, t in ((xd, xt), (wd, wt), (bd, bt)):
        np.testing.assert_allclose(d.grad.data, t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_cross_entropy_gradient_of_a_retained_graph_twice():
    """The saved softmax is not consumed by the vjp: a second backward gives the same grad."""
    rng = np.random.default_rng(3)
    z = dg.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    loss = dg.cross_entropy(z, np.array([0, 2, 1, 1, 0]))
    loss.backward(retain_graph=True)
    first = z.grad.data.copy()
    z.grad = None
    loss.backward()
    np.testing.assert_array_equal(z.grad.data, first)
    zt = torch.tensor(z.data, requires_grad=True)
    torch.nn.functional.cross_entropy(zt, torch.tensor([0, 2, 1, 1, 0])).backward()
    np.testing.assert_allclose(first, zt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_parameter_changed_after_forward_still_raises_after_an_optimizer_step():
    """The version check survives the shortcut 'nothing written since the last step'."""
    net, _ = _mlp_pair(1)
    opt = optim.SGD(net.parameters(), lr=0.1)
    x = dg.as_tensor(np.ones((2, 12), np.float32))
    for _ in range(2):  # steps write every parameter in place
        opt.zero_grad()
        dg.cross_entropy(net(x), np.array([0, 1])).backward()
        opt.step()
    opt.zero_grad()
    loss = dg.cross_entropy(net(x), np.array([0, 1]))
    with dg.no_grad():
        net.layers[1].weight.mul_(2)  # in place, after the forward saved it
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_bump_all_counts_as_bump_and_finds_the_storage():
    """bump_all(arrays) = bump on each: views count against their base; LATEST moves up."""
    base = np.zeros((3, 4))
    view = base[1:]
    other = np.ones(2)
    v0, o0 = versions.version(base), versions.version(other)
    stamp = dg.tensor(0.0)._seq
    versions.bump_all([view, other, np.float64(1.0)], stamp)
    assert versions.version(base) == v0 + 1
    assert versions.version(view) == v0 + 1
    assert versions.version(other) == o0 + 1
    assert versions.latest() >= stamp
    assert versions.modified_after(view, stamp - 1)
    assert not versions.modified_after(view, stamp)


@pytest.mark.parametrize("batch", [1, 5])
def test_linear_weight_gradient_matches_torch(batch):
    """∂L/∂W = gᵀx of linear, eager (2-D arrays) and with create_graph (tensors)."""
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 7)).astype(np.float64)
    w = rng.standard_normal((3, 7))
    b = rng.standard_normal(3)
    for create in (False, True):
        wd = dg.tensor(w, requires_grad=True)
        out = dg.ops.linear(dg.tensor(x), wd, dg.tensor(b))
        (gw,) = autograd_grad((out * out).sum(), [wd], create_graph=create)
        wt = torch.tensor(w, requires_grad=True)
        o = torch.nn.functional.linear(torch.tensor(x), wt, torch.tensor(b))
        (o * o).sum().backward()
        np.testing.assert_allclose(np.asarray(gw.data if hasattr(gw, "data") else gw),
                                   wt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 70_001), (256, 784), (2, 5)])
def test_plain_sgd_update_is_p_minus_lr_g_bit_for_bit(shape):
    """p + (−η)g through a temporary gives NumPy's p − ηg exactly, large or small."""
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    p = dg.tensor(w0.copy(), requires_grad=True)
    p.grad = dg.tensor(g)
    optim.SGD([p], lr=0.01).step()
    assert p.data.tobytes() == (w0 - np.float32(0.01) * g).tobytes()


def test_plain_sgd_with_a_gradient_of_another_dtype_rounds_as_pytorch():
    """A float64 .grad left on a parameter whose data became float32: p + (−η)g in float64,
    rounded into p — PyTorch's order (its p.add_(g, alpha=−η)), not (−η)g rounded first."""
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal(1000).astype(np.float32)
    g = rng.standard_normal(1000)  # float64
    p = dg.tensor(np.zeros(1000), requires_grad=True)
    p.grad = dg.tensor(g)
    p.data = w0.copy()
    optim.SGD([p], lr=0.1).step()
    tp = torch.tensor(np.zeros(1000), requires_grad=True)
    tp.grad = torch.tensor(g)
    tp.data = torch.tensor(w0.copy())
    torch.optim.SGD([tp], lr=0.1).step()
    assert p.data.dtype == np.float32
    assert p.data.tobytes() == tp.detach().numpy().tobytes()
    assert p.data.tobytes() != (w0 + (g * -0.1).astype(np.float32)).tobytes()  # the other order


def test_plain_sgd_on_a_non_contiguous_parameter_and_gradient():
    """A transposed p.data (not contiguous) is updated in place, in the array it views."""
    rng = np.random.default_rng(2)
    base = rng.standard_normal((6, 4)).astype(np.float32)
    p = dg.tensor(np.zeros((4, 6), np.float32), requires_grad=True)
    p.data = base.T  # a view: the update must land in base
    g = rng.standard_normal((6, 4)).astype(np.float32).T
    p.grad = dg.tensor(g)
    expect = base.T - np.float32(0.5) * g
    optim.SGD([p], lr=0.5).step()
    assert np.ascontiguousarray(base.T).tobytes() == np.ascontiguousarray(expect).tobytes()


def test_linear_refuses_a_number_input_with_the_shapes_named():
    """A 0-d input (held as a number by the scalar path) is refused with its shape, not crashed."""
    w = dg.tensor(np.ones((2, 3)), requires_grad=True)
    x = dg.tensor(1.5, requires_grad=True) * 2.0  # a 0-d result of an elementwise op
    with pytest.raises(ValueError, match=r"input of shape \(\) does not match weight"):
        dg.ops.linear(x, w, np.zeros(2))
    with pytest.raises(ValueError, match=r"bias of shape \(\) does not match"):
        dg.ops.linear(dg.tensor(np.ones((4, 3))), w, dg.tensor(0.5) * 2.0)


def _adam_by_hand(w, m, v, g, t, lr, b1, b2, eps, wd):
    """torch.optim.Adam's single-tensor update, written out with NumPy (one pass per op)."""
    f = w.dtype.type
    if wd:
        g = g + w * f(wd)
    d = g - m                                   # exp_avg.lerp_(g, 1 − β₁), |1 − β₁| < ½
    d *= f(1 - b1)
    m += d
    v *= f(b2)                                  # exp_avg_sq.mul_(β₂).addcmul_(g, g, 1 − β₂)
    v += g * f(1 - b2) * g
    denom = np.sqrt(v) / f((1 - b2**t) ** 0.5) + f(eps)
    w += m * f(-(lr / (1 - b1**t))) / denom
    return w


@pytest.mark.parametrize("shape", [(3, 70_001), (optim.optimizer.BLOCK,), (2, 5)])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_in_blocks_equals_the_update_written_out(shape, wd):
    """Adam's blocked update (BLOCK elements at a time) gives the bits of whole-array passes."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal(shape).astype(np.float32)
    p = dg.tensor(w.copy(), requires_grad=True)
    opt = optim.Adam([p], lr=0.01, weight_decay=wd)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in (1, 2, 3):
        g = rng.standard_normal(shape).astype(np.float32)
        p.grad = dg.tensor(g)
        opt.step()
        w = _adam_by_hand(w, m, v, g, t, 0.01, 0.9, 0.999, 1e-8, wd)
        assert p.data.tobytes() == w.tobytes()
        assert opt.state[p]["exp_avg_sq"].tobytes() == v.tobytes()


def test_adam_blocked_matches_torch_and_a_non_contiguous_parameter_takes_the_whole_path():
    """Against torch.optim.Adam on a large and a transposed (non-contiguous) parameter."""
    rng = np.random.default_rng(4)
    big = rng.standard_normal((5, 20_000)).astype(np.float32)
    base = rng.standard_normal((6, 4)).astype(np.float32)
    p1 = dg.tensor(big.copy(), requires_grad=True)
    p2 = dg.tensor(np.zeros((4, 6), np.float32), requires_grad=True)
    p2.data = base.T
    q1 = torch.tensor(big.copy(), requires_grad=True)
    q2 = torch.tensor(np.ascontiguousarray(base.T), requires_grad=True)
    opt = optim.AdamW([p1, p2], lr=0.01)
    topt = torch.optim.AdamW([q1, q2], lr=0.01, foreach=False)
    for _ in range(3):
        g1 = rng.standard_normal(big.shape).astype(np.float32)
        g2 = rng.standard_normal((6, 4)).astype(np.float32).T
        p1.grad, p2.grad = dg.tensor(g1), dg.tensor(g2)
        q1.grad, q2.grad = torch.tensor(g1), torch.tensor(np.ascontiguousarray(g2))
        opt.step()
        topt.step()
    np.testing.assert_allclose(p1.data, q1.detach().numpy(), rtol=3e-7, atol=1e-7)  # an ulp
    np.testing.assert_allclose(base.T, q2.detach().numpy(), rtol=3e-7, atol=1e-7)  # an ulp
