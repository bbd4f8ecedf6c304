"""PyTorch's Tensor habits on dagrad, each against PyTorch 2.13 on the same numbers.

size()/numel()/dim(), unsqueeze, squeeze, flatten, clone, view, argmax/argmin, clamp/clamp_,
norm, std/var (PyTorch's correction=1 and NumPy's ddof=0), abs, pow, sqrt, register_hook,
dg.cat, dg.arange, zeros_like/ones_like/full, manual_seed and the grad modes; the method forms
add/sub (with alpha), mul, div, neg, matmul, mm and t; eq/ne/gt/ge/lt/le, all/any,
maximum/minimum, expand, type_as, new_zeros; what assigning ``.grad`` accepts.
Values and gradients (a random upstream weight, so every output entry counts) are compared in
float64 and float32.
"""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(20)


def _pair(a: np.ndarray):
    x = dg.tensor(a, requires_grad=a.dtype.kind == "f")
    t = torch.tensor(a, requires_grad=a.dtype.kind == "f")
    return x, t


def _same(fn_dg, fn_torch, a: np.ndarray, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """Values of fn_dg(x) and fn_torch(t), then the gradients of Σ w·f for a random w."""
    x, t = _pair(a)
    y, u = fn_dg(x), fn_torch(t)
    assert tuple(y.shape) == tuple(u.shape), (y.shape, u.shape)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=rtol, atol=atol)
    if not u.requires_grad:
        return
    w = RNG.standard_normal(u.shape).astype(a.dtype)
    (y * dg.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


def _data(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# ----- size, numel, dim ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 0, 5), (1, 3, 1, 2)])
def test_size_numel_dim_as_torch(shape):
    a = np.zeros(shape, np.float32)
    x, t = dg.tensor(a), torch.tensor(a)
    assert x.size() == tuple(t.size()) and x.numel() == t.numel() and x.dim() == t.dim()
    for d in range(-len(shape), len(shape)):
        assert x.size(d) == t.size(d)
    with pytest.raises(IndexError) as e:
        x.size(len(shape) + 1)
    with pytest.raises(IndexError):
        t.size(len(shape) + 1)
    assert "dimension" in str(e.value).lower()


def test_size_is_a_method_not_an_int():
    x = dg.zeros(2, 3)
    assert callable(x.size) and not isinstance(x.size, int)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.numel() == 6
    with pytest.raises(TypeError, match="dim must be an int"):
        x.size("1")


def test_internal_uses_of_size_count_elements():
    """The places that counted a tensor's elements with ``.size`` (reductions, reshape, item,
    gradcheck, forward jacobians) work now that size is a method."""
    with pytest.raises(ValueError, match="empty"):
        dg.amax(dg.zeros(0))
    assert dg.tensor([[1.0, 2.0]]).reshape(-1).shape == (2,)
    assert dg.tensor([3.5]).item() == 3.5
    with pytest.raises(ValueError, match="2 elements"):
        dg.tensor([1.0, 2.0]).item()
    assert dg.gradcheck(lambda v: (v * v).sum(), dg.tensor([1.0, 2.0], dtype="float64"))
    jac = dg.jacobian(dg.grad(lambda v: (v ** 3).sum()), mode="forward")
    h = dg.jacobian(lambda v: jac(v).sum(), mode="forward")(dg.tensor([1.0, 2.0],
                                                                      dtype="float64"))
    np.testing.assert_allclose(h.numpy(), [6.0, 6.0])


# ----- shape habits ----------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_unsqueeze(dim):
    _same(lambda x: x.unsqueeze(dim), lambda t: t.unsqueeze(dim), _data(2, 3))


def test_unsqueeze_out_of_range_is_an_index_error():
    with pytest.raises(IndexError, match=r"unsqueeze: dim 3 .* \[-3, 2\]"):
        dg.zeros(2, 3).unsqueeze(3)


@pytest.mark.parametrize("dim", [None, 0, 1, 2, -1, (0, 2), (1, 3)])
def test_squeeze_as_torch_leaves_other_sizes(dim):
    a = _data(1, 3, 1, 2)
    if dim is None:
        _same(lambda x: x.squeeze(), lambda t: t.squeeze(), a)
    else:
        _same(lambda x: x.squeeze(dim), lambda t: t.squeeze(dim), a)


def test_numpy_squeeze_axis_still_refuses_a_longer_axis():
    with pytest.raises(ValueError):
        dg.squeeze(dg.zeros(2, 3), axis=0)
    assert dg.squeeze(dg.zeros(2, 3), dim=0).shape == (2, 3)


@pytest.mark.parametrize("args", [(), (1,), (0, 1), (1, 2), (-2, -1), (2, 2), (0, -1)])
def test_flatten(args):
    _same(lambda x: x.flatten(*args), lambda t: t.flatten(*args), _data(2, 3, 4))


def test_flatten_edge_cases_as_torch():
    assert dg.tensor(2.0).flatten().shape == tuple(torch.tensor(2.0).flatten().shape) == (1,)
    assert dg.zeros(0, 5).flatten().shape == (0,)
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        dg.zeros(2, 3, 4).flatten(2, 1)


@pytest.mark.parametrize("shape", [(6,), (-1, 2), (3, -1), (1, 2, 3), (6, 1)])
def test_view_with_minus_one(shape):
    _same(lambda x: x.view(*shape), lambda t: t.view(*shape), _data(2, 3))
    _same(lambda x: x.view(shape), lambda t: t.view(shape), _data(2, 3))


def test_view_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(4, -1\)|\(2, 3\).*\(4, 0\)"):
        dg.zeros(2, 3).view(4, -1)


def test_clone_copies_and_stays_in_the_graph():
    a = _data(2, 3)
    _same(lambda x: x.clone() * 3, lambda t: t.clone() * 3, a)
    x = dg.tensor(a)
    c = x.clone()
    c.data[0, 0] = 99.0
    assert x.data[0, 0] == a[0, 0]
    with dg.no_grad():
        assert not dg.tensor(a, requires_grad=True).clone().requires_grad


# ----- argmax / argmin --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (0, False), (1, True),
                                          (-1, False)])
def test_argmax_argmin(name, dim, keepdim):
    a = RNG.integers(0, 3, (4, 5)).astype(np.float32)  # many ties: the first one wins
    x, t = dg.tensor(a), torch.tensor(a)
    got = getattr(x, name)(dim=dim, keepdim=keepdim)
    want = getattr(t, name)(dim=dim, keepdim=keepdim)
    assert got.dtype == np.int64 and got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(getattr(dg, name)(x, dim, keepdim).numpy(), want.numpy())


def test_argmax_of_a_0d_tensor_and_errors():
    assert dg.tensor(5.0).argmax().item() == torch.tensor(5.0).argmax().item() == 0
    assert dg.tensor(5.0).argmax(dim=0).item() == 0
    with pytest.raises(ValueError, match="argmax: empty"):
        dg.zeros(0).argmax()
    with pytest.raises(ValueError, match="out of range"):
        dg.zeros(2, 3).argmin(dim=2)


def test_argmax_accuracy_habit():
    logits = _data(8, 10, dtype=np.float32)
    y = RNG.integers(0, 10, 8)
    got = (dg.tensor(logits).argmax(dim=1) == dg.tensor(y)).numpy().mean()
    want = (torch.tensor(logits).argmax(dim=1) == torch.tensor(y)).float().mean().item()
    assert got == pytest.approx(want)


# ----- clamp, clamp_, abs, pow, sqrt ------------------------------------------------------------
@pytest.mark.parametrize("lo,hi", [(-0.5, 0.5), (None, 0.2), (-0.1, None)])
def test_clamp(lo, hi):
    _same(lambda x: x.clamp(lo, hi), lambda t: t.clamp(lo, hi), _data(3, 4))
    _same(lambda x: x.clamp(min=lo, max=hi), lambda t: t.clamp(min=lo, max=hi), _data(5))


def test_clamp_in_place_under_no_grad_and_recorded():
    a = _data(3, 4)
    x, t = dg.tensor(a), torch.tensor(a)
    x.clamp_(-0.3, 0.4)
    t.clamp_(-0.3, 0.4)
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    _same(lambda x: (x * 2).clamp_(-0.3, 0.4), lambda t: (t * 2).clamp_(-0.3, 0.4), a)


def test_abs_pow_sqrt():
    a = _data(3, 4)
    _same(lambda x: x.abs(), lambda t: t.abs(), a)
    _same(lambda x: abs(x), lambda t: abs(t), a)
    _same(lambda x: x.pow(3), lambda t: t.pow(3), a)
    _same(lambda x: x.abs().pow(1.7), lambda t: t.abs().pow(1.7), a)
    _same(lambda x: x.abs().sqrt(), lambda t: t.abs().sqrt(), a + 0.0)
    _same(lambda x: dg.sqrt(x * x + 1), lambda t: torch.sqrt(t * t + 1), a)


# ----- norm, std, var ---------------------------------------------------------------------------
NORM_CASES = [("fro", None, False), (2, None, False), (2, 1, False), (2, 0, True), (1, None, False),
              (1, -1, True), (3, 1, False), (0.5, None, False), (float("inf"), 1, False),
              (float("-inf"), None, False), (2, (0, 1), False), ("fro", (0, 2), True)]


@pytest.mark.parametrize("p,dim,keepdim", NORM_CASES)
def test_norm(p, dim, keepdim):
    a = _data(3, 4, 2)
    a[0, 0, 0] = 2.5  # a clear maximum for ±inf
    _same(lambda x: x.norm(p, dim, keepdim), lambda t: t.norm(p, dim, keepdim), a, rtol=1e-9)
    _same(lambda x: dg.norm(x, p=p, dim=dim, keepdim=keepdim),
          lambda t: torch.norm(t, p=p, dim=dim, keepdim=keepdim), a, rtol=1e-9)


def test_norm_of_zeros_has_torchs_zero_gradient():
    for p in (2, 3, 1):
        _same(lambda x, p=p: x.norm(p), lambda t, p=p: t.norm(p), np.zeros(3))
        _same(lambda x, p=p: x.norm(p, dim=1), lambda t, p=p: t.norm(p, dim=1),
              np.array([[0.0, 0.0], [3.0, -4.0]]))


def test_norm_count_of_nonzeros_and_refusals():
    a = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]])
    _same(lambda x: x.norm(0), lambda t: t.norm(0).detach(), a)
    with pytest.raises(ValueError, match="nuclear"):
        dg.tensor(a).norm("nuc")
    with pytest.raises(TypeError, match="norm: needs a floating-point"):
        dg.tensor([1, 2]).norm()


def test_norm_is_clip_grad_norms_total():
    a, b = _data(3, 4), _data(4)
    total = dg.stack([dg.tensor(a).norm(), dg.tensor(b).norm()]).norm()
    want = torch.stack([torch.tensor(a).norm(), torch.tensor(b).norm()]).norm()
    assert total.item() == pytest.approx(want.item(), rel=1e-12)


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("kw", [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": (0, 2)},
                                {"correction": 0}, {"dim": -1, "correction": 2},
                                {"dim": 1, "unbiased": False}])
def test_var_std_pytorch_signature(name, kw):
    a = _data(3, 4, 5)
    _same(lambda x: getattr(x, name)(**kw), lambda t: getattr(t, name)(**kw), a)
    _same(lambda x: getattr(dg, name)(x, **kw), lambda t: getattr(torch, name)(t, **kw), a)


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_positional_forms_as_torch(name):
    a = _data(3, 4)
    _same(lambda x: getattr(x, name)(1, True, True), lambda t: getattr(t, name)(1, True, True), a)
    _same(lambda x: getattr(x, name)(False), lambda t: getattr(t, name)(False), a)


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("kw", [{"axis": 1}, {"axis": 0, "ddof": 1}, {"keepdims": True},
                                {"axis": (0, 1), "keepdims": True}])
def test_var_std_numpy_spelling_keeps_ddof_0(name, kw):
    a = _data(3, 4, dtype=np.float32)
    got = getattr(dg.tensor(a), name)(**kw).numpy()
    np.testing.assert_allclose(got, getattr(np, name)(a.astype(np.float64), **kw), rtol=1e-5)


def test_var_std_mixed_spellings_refused_and_degenerate_as_torch():
    with pytest.raises(TypeError, match="not both"):
        dg.zeros(3).var(dim=0, ddof=1)
    one = np.array([1.5])
    x, t = dg.tensor(one, requires_grad=True), torch.tensor(one, requires_grad=True)
    with pytest.warns(UserWarning):
        u = t.std()
    y = x.std()
    assert np.isnan(y.item()) and np.isnan(u.item())
    y.backward()
    u.backward()
    assert np.isnan(x.grad.numpy()).all() and np.isnan(t.grad.numpy()).all()


def test_float32_norm_var_close_to_torch():
    a = _data(16, 8, dtype=np.float32)
    _same(lambda x: x.var(dim=0) + x.norm(dim=1).sum() + x.std(),
          lambda t: t.var(dim=0) + t.norm(dim=1).sum() + t.std(), a, rtol=2e-5, atol=1e-6)


def test_composites_differentiate_in_every_mode():
    """norm, std and var are built from table ops: forward mode, jacobian and hessian work,
    checked against float64 finite differences and torch's hessian."""
    a = _data(5)
    f = lambda v: v.norm() + v.std() * v.var(correction=0)  # noqa: E731
    assert dg.gradcheck(f, dg.tensor(a))
    jf = dg.jacobian(f, mode="forward")(dg.tensor(a)).numpy()
    jr = dg.jacobian(f, mode="reverse")(dg.tensor(a)).numpy()
    np.testing.assert_allclose(jf, jr, rtol=1e-10)
    want = torch.autograd.functional.hessian(
        lambda t: t.norm() + t.std() * t.var(correction=0), torch.tensor(a))
    np.testing.assert_allclose(dg.hessian(f)(dg.tensor(a)).numpy(), want.numpy(), rtol=1e-8)


# ----- register_hook -----------------------------------------------------------------------------
def test_register_hook_sees_and_replaces_the_gradient_as_torch():
    a = _data(4)
    seen_dg, seen_t = [], []
    x, t = _pair(a)
    h, u = x * 3, t * 3
    h.register_hook(lambda g: seen_dg.append(g.numpy().copy()))
    u.register_hook(lambda g: seen_t.append(g.numpy().copy()))
    h2, u2 = h.tanh(), u.tanh()
    h2.register_hook(lambda g: g * 2)  # a replacement flows on
    u2.register_hook(lambda g: g * 2)
    x.register_hook(lambda g: g + 1)   # a leaf's hook runs before .grad is written
    t.register_hook(lambda g: g + 1)
    (h2 ** 2).sum().backward()
    (u2 ** 2).sum().backward()
    np.testing.assert_allclose(seen_dg[0], seen_t[0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_register_hook_on_a_scalar_chain_and_accumulating_leaf():
    x, t = _pair(np.array(0.7))
    for v in (x, t):
        v.register_hook(lambda g: g * 10)
    for _ in range(2):  # the hook runs each backward; .grad accumulates the replaced values
        (x.sin() * x).backward()
        (t.sin() * t).backward()
    assert x.grad.item() == pytest.approx(t.grad.item(), rel=1e-12)


def test_hook_handle_remove_and_errors():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    (x * x).sum().backward()
    handle.remove()
    handle.remove()  # twice is harmless
    (x * x).sum().backward()
    assert calls == [1]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        dg.tensor([1.0]).register_hook(print)
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)
    x.register_hook(lambda g: dg.zeros(3))
    with pytest.raises(RuntimeError, match="shape"):
        (x * x).sum().backward()


def test_hooks_are_refused_inside_dg_compile_rather_than_skipped():
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    handle = w.register_hook(lambda g: g * 0)

    @dg.compile
    def step(x):
        loss = (w * x).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="dg.compile does not replay gradient hooks"):
        step(dg.tensor([3.0, 4.0]))
    handle.remove()
    w.grad = None
    step(dg.tensor([3.0, 4.0]))
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])


def test_hooks_with_create_graph_give_recorded_gradients():
    a = _data(3)
    x, t = _pair(a)
    x.register_hook(lambda g: g * g)
    t.register_hook(lambda g: g * g)
    (gx,) = dg.autograd_grad((x ** 3).sum(), [x], create_graph=True)
    (gt,) = torch.autograd.grad((t ** 3).sum(), [t], create_graph=True)
    np.testing.assert_allclose(gx.numpy(), gt.detach().numpy(), rtol=1e-12)
    gx.sum().backward()
    gt.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


# ----- creation: cat, arange, *_like, full, manual_seed ------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim):
    a, b = _data(2, 3), _data(2, 3)
    xa, ta = _pair(a)
    xb, tb = _pair(b)
    y, u = dg.cat([xa, xb * 2], dim=dim), torch.cat([ta, tb * 2], dim=dim)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy())
    w = _data(*u.shape)
    (y * dg.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), ta.grad.numpy())
    np.testing.assert_allclose(xb.grad.numpy(), tb.grad.numpy())
    assert dg.cat((xa, xb)).shape == tuple(torch.cat((ta, tb)).shape)


@pytest.mark.parametrize("args", [(5,), (2, 7), (1, 10, 3), (10, 1, -2), (0.0, 1.0, 0.1),
                                  (-1.5, 2.5), (3.0,), (0, 0)])
def test_arange_as_torch(args):
    got, want = dg.arange(*args), torch.arange(*args)
    assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    got = dg.arange(*args, dtype="float64")
    np.testing.assert_allclose(got.numpy(), torch.arange(*args, dtype=torch.float64).numpy(),
                               rtol=1e-12)


def test_arange_errors():
    with pytest.raises(ValueError, match="step must be nonzero"):
        dg.arange(0, 3, 0)
    with pytest.raises(TypeError, match="arange"):
        dg.arange()


@pytest.mark.parametrize("value", [1.5, 3, True, -2.0])
def test_full_dtype_follows_the_value_as_torch(value):
    got, want = dg.full((2, 3), value), torch.full((2, 3), value)
    assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert dg.full(4, value, dtype="float64").shape == (4,)


def test_zeros_like_ones_like_as_torch():
    for a in (_data(2, 3, dtype=np.float32), np.arange(4), _data(3)):
        for name in ("zeros_like", "ones_like"):
            got, want = getattr(dg, name)(dg.tensor(a)), getattr(torch, name)(torch.tensor(a))
            assert got.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    z = dg.zeros_like(dg.zeros(2), dtype="float64", requires_grad=True)
    assert z.requires_grad and z.dtype == np.float64


def test_manual_seed_repeats_every_draw():
    def draws():
        dg.manual_seed(123)
        net = dg.nn.Linear(4, 3)
        return (net.weight.numpy().copy(), dg.randn(3).numpy(), dg.rand(2).numpy(),
                dg.default_generator().random(2))
    first, second = draws(), draws()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    dg.manual_seed(124)
    assert not np.array_equal(dg.randn(3).numpy(), second[1])
    with pytest.raises(ValueError, match="manual_seed"):
        dg.manual_seed(-1)


def test_default_generator_is_the_one_manual_seed_replaces():
    g = dg.manual_seed(9)
    assert dg.default_generator() is g
    expected = np.random.default_rng(9).standard_normal(3)
    np.testing.assert_array_equal(dg.randn(3, dtype="float64").numpy(), expected)


# ----- grad modes --------------------------------------------------------------------------------
def _records(fn_mode) -> bool:
    x = dg.tensor([1.0], requires_grad=True)
    with fn_mode():
        return (x * 2).requires_grad


def test_grad_modes_as_torch():
    tx = torch.tensor([1.0], requires_grad=True)
    pairs = [
        (dg.no_grad, torch.no_grad),
        (dg.enable_grad, torch.enable_grad),
        (lambda: dg.set_grad_enabled(False), lambda: torch.set_grad_enabled(False)),
        (lambda: dg.set_grad_enabled(True), lambda: torch.set_grad_enabled(True)),
        (dg.inference_mode, torch.inference_mode),
        (lambda: dg.inference_mode(False), lambda: torch.inference_mode(False)),
    ]
    for ours, theirs in pairs:
        with theirs():
            want = (tx * 2).requires_grad
        assert _records(ours) == want
    # nested: enable_grad inside no_grad records, as torch
    with dg.no_grad(), dg.enable_grad():
        assert (dg.tensor([1.0], requires_grad=True) * 2).requires_grad
    with dg.inference_mode():
        assert dg.is_inference_mode_enabled() and not dg.is_grad_enabled()
    assert dg.is_grad_enabled() and not dg.is_inference_mode_enabled()


def test_set_grad_enabled_as_a_function_and_decorators():
    prev = torch.is_grad_enabled()
    try:
        dg.set_grad_enabled(False)
        torch.set_grad_enabled(False)
        assert dg.is_grad_enabled() == torch.is_grad_enabled() is False
    finally:
        dg.set_grad_enabled(True)
        torch.set_grad_enabled(prev)
    assert dg.is_grad_enabled()

    @dg.no_grad()
    def f(x):
        return x * 2

    @dg.enable_grad()
    def g(x):
        return x * 2

    x = dg.tensor([1.0], requires_grad=True)
    assert not f(x).requires_grad
    with dg.no_grad():
        assert g(x).requires_grad


# ----- assigning .grad ------------------------------------------------------------------------
GRAD_ASSIGNMENTS = [
    ("shape", lambda dgm, tm: dgm.ones(4), RuntimeError, "shape"),
    ("one element", lambda dgm, tm: dgm.ones(1), RuntimeError, "shape"),
    ("dtype", lambda dgm, tm: dgm.ones(3, dtype=tm.float64), RuntimeError, "dtype"),
    ("array", lambda dgm, tm: np.ones(3, np.float32), TypeError, "numpy.ndarray"),
    ("number", lambda dgm, tm: 5.0, TypeError, "float"),
]


@pytest.mark.parametrize("case", GRAD_ASSIGNMENTS, ids=[c[0] for c in GRAD_ASSIGNMENTS])
def test_assigning_a_grad_that_does_not_fit_raises_as_pytorch(case):
    """p.grad = g checks g as PyTorch does (a Tensor of p's shape and dtype), so an optimizer
    never broadcasts a wrong gradient over p; the error names the mismatch, p.grad stays."""
    _, make, error, names = case
    p = dg.tensor(np.ones(3, np.float32), requires_grad=True)
    kept = dg.tensor(np.full(3, 2.0, np.float32))
    p.grad = kept
    with pytest.raises(error, match=names):
        p.grad = make(dg, dg if names != "dtype" else np)
    assert p.grad is kept
    tp = torch.ones(3, requires_grad=True)
    with pytest.raises(error):
        tp.grad = make(torch, torch)


def test_assigning_a_fitting_grad_or_none_works_as_pytorch():
    p = dg.tensor(np.ones(3), requires_grad=True)
    q = dg.tensor(np.ones(3))  # no requires_grad: PyTorch accepts a fitting grad too
    for t in (p, q):
        g = dg.tensor(np.arange(3.0))
        t.grad = g
        assert t.grad is g
        t.grad = None
        assert t.grad is None
    tq = torch.ones(3, dtype=torch.float64)
    tq.grad = torch.arange(3.0, dtype=torch.float64)
    assert tq.grad is not None


def test_a_wrong_grad_assigned_inside_dg_compile_raises_the_same_error():
    p = dg.tensor(np.ones(3), requires_grad=True)

    @dg.compile
    def f(x):
        p.grad = dg.ones(4, dtype="float64")
        return x * 2

    with pytest.raises(RuntimeError, match="shape"):
        f(dg.tensor(np.ones(2)))


# ----- method forms of the arithmetic (x.add(y, alpha=2), w.t(), a.mm(b), ...) ----------------
METHOD_FORMS = [
    ("add", lambda a, b: a.add(b)), ("add alpha", lambda a, b: a.add(b, alpha=-2.5)),
    ("sub", lambda a, b: a.sub(b)), ("sub alpha", lambda a, b: a.sub(b, alpha=3)),
    ("mul", lambda a, b: a.mul(b)), ("div", lambda a, b: a.div(b + 3.0)),
    ("neg", lambda a, b: a.neg() * b), ("matmul", lambda a, b: a.matmul(b.t())),
    ("mm", lambda a, b: a.mm(b.t())), ("t", lambda a, b: a.t() * b.t()),
    ("add number alpha", lambda a, b: a.add(2.0, alpha=3) * b),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("form", METHOD_FORMS, ids=[f[0] for f in METHOD_FORMS])
def test_method_forms_of_the_arithmetic_as_torch(form, dtype):
    _, fn = form
    rng = np.random.default_rng(21)
    a0, b0 = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    a, b = dg.tensor(a0, requires_grad=True), dg.tensor(b0, requires_grad=True)
    ta, tb = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    out, tout = fn(a, b), fn(ta, tb)
    assert out.dtype == np.dtype(dtype) and str(tout.dtype) == f"torch.{dtype}"
    w = rng.standard_normal(tout.shape).astype(dtype)
    (out * dg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), **tol)
    for mine, theirs in ((a, ta), (b, tb)):
        np.testing.assert_allclose(mine.grad.data, theirs.grad.numpy(), **tol)


def test_method_forms_refuse_what_torch_refuses():
    m3 = dg.tensor(np.ones((2, 3, 4)))
    with pytest.raises(RuntimeError, match="<= 2 dimensions"):
        m3.t()
    with pytest.raises(RuntimeError):
        torch.ones(2, 3, 4).t()
    with pytest.raises(RuntimeError, match="self must be a matrix"):
        dg.tensor(np.ones(3)).mm(dg.tensor(np.ones((3, 2))))
    with pytest.raises(RuntimeError):
        torch.ones(3).mm(torch.ones(3, 2))
    v = dg.tensor(np.ones(3))
    assert v.t() is v and v.t().shape == tuple(torch.ones(3).t().shape)
    with pytest.raises(NotImplementedError, match="rounding_mode"):
        v.div(2.0, rounding_mode="floor")


# ----- comparisons, logical reductions, maximum/minimum, expand, type_as, new_zeros -----------
@pytest.mark.parametrize("name", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_comparison_methods_as_torch(name):
    a0 = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b0 = np.array([2.0, 2.0, 2.0])
    for other, t_other in ((dg.tensor(b0), torch.tensor(b0)), (2.0, 2.0)):
        got = getattr(dg.tensor(a0), name)(other)
        want = getattr(torch.tensor(a0), name)(t_other)
        assert got.dtype == np.bool_ and np.array_equal(got.data, want.numpy())


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_all_and_any_as_torch(dim):
    a0 = np.array([[1.0, 0.0, 3.0], [3.0, 2.0, 1.0]])
    for name in ("all", "any"):
        for keep in (False, True):
            got = getattr(dg.tensor(a0), name)(dim, keep) if dim is not None else \
                getattr(dg.tensor(a0), name)()
            t = torch.tensor(a0)
            want = getattr(t, name)(dim, keep) if dim is not None else getattr(t, name)()
            assert got.shape == tuple(want.shape)
            assert np.array_equal(got.data, want.numpy())


def test_maximum_minimum_methods_with_ties_as_torch():
    a0, b0 = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    w = np.array([0.5, -1.0, 2.0])
    for name in ("maximum", "minimum"):
        a, b = dg.tensor(a0, requires_grad=True), dg.tensor(b0, requires_grad=True)
        ta, tb = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
        (getattr(a, name)(b) * dg.tensor(w)).sum().backward()
        (getattr(ta, name)(tb) * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(a.grad.data, ta.grad.numpy())
        np.testing.assert_array_equal(b.grad.data, tb.grad.numpy())


@pytest.mark.parametrize("sizes", [(3, 4), (2, 3, 4), (2, -1, 4), ((2, 3, 4),), (-1, 4)])
def test_expand_as_torch(sizes):
    a0 = RNG.standard_normal((3, 1))
    a, ta = dg.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    out, tout = a.expand(*sizes), ta.expand(*sizes)
    assert out.shape == tuple(tout.shape)
    w = RNG.standard_normal(out.shape)
    (out * dg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-12)


def test_expand_refuses_what_torch_refuses():
    a = dg.tensor(np.ones((3, 1)))
    for sizes in [(4,), (-1, 3, 4), (4, 4)]:  # too few sizes; -1 leading; 3 cannot become 4
        with pytest.raises(RuntimeError):
            a.expand(*sizes)
        with pytest.raises(RuntimeError):
            torch.ones(3, 1).expand(*sizes)
    with pytest.raises(RuntimeError, match="existing size 3 at non-singleton dimension 0"):
        a.expand(4, 4)


def test_type_as_and_new_zeros_as_torch():
    a = dg.tensor(np.ones(2, np.float32))
    b = dg.tensor(np.ones(2, np.float64))
    assert a.type_as(b).dtype == np.float64
    assert torch.ones(2).type_as(torch.ones(2, dtype=torch.float64)).dtype == torch.float64
    z = b.new_zeros(2, 3)
    tz = torch.ones(2, dtype=torch.float64).new_zeros(2, 3)
    assert z.shape == tuple(tz.shape) and z.dtype == np.float64 and not z.requires_grad
    assert b.new_zeros((4,)).shape == (4,)
