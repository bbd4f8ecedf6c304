"""sin, cos, log1p, expm1, softplus, square, minimum, clamp/clip: one table entry each.

Checked against PyTorch (values, first and second derivatives, forward mode, Jacobians and
Hessians), float64 finite differences, and SymPy's own derivative of each Op's SymPy forward.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dagrad as dg
from conftest import numeric_grad, torch
from dagrad.ops import OPS

F = torch.nn.functional
rng = np.random.default_rng(7)
TF = torch.autograd.functional

# name, dagrad f, torch f, inputs (float64 arrays away from kinks and domain edges)
UNARY = [
    ("sin", dg.sin, torch.sin, rng.uniform(-4, 4, (3, 4))),
    ("cos", dg.cos, torch.cos, rng.uniform(-4, 4, (3, 4))),
    ("log1p", dg.log1p, torch.log1p, rng.uniform(-0.7, 3, (3, 4))),
    ("expm1", dg.expm1, torch.expm1, rng.uniform(-3, 3, (3, 4))),
    ("softplus", dg.softplus, F.softplus, rng.uniform(-8, 8, (3, 4))),
    ("square", dg.square, torch.square, rng.uniform(-2, 2, (3, 4))),
    ("clamp", lambda a: dg.clamp(a, -0.5, 0.8), lambda a: torch.clamp(a, -0.5, 0.8),
     np.array([[-2.0, -0.7, -0.3, 0.1], [0.5, 0.79, 0.81, 3.0], [-0.49, -0.51, 1.2, 0.0]])),
    ("clamp_min", lambda a: a.clamp(min=0.1), lambda a: a.clamp(min=0.1),
     rng.uniform(-2, 2, (5,)) + 0.003),
    ("clip_max", lambda a: dg.clip(a, max=-0.2), lambda a: torch.clip(a, max=-0.2),
     rng.uniform(-2, 2, (5,)) + 0.003),
]
BINARY = [
    ("minimum", dg.minimum, torch.minimum, rng.standard_normal((3, 1)),
     rng.standard_normal((1, 4))),
    ("minimum_scalar", dg.minimum, torch.minimum, rng.standard_normal(()),
     rng.standard_normal((2, 3))),
]
ALL = [(n, f, tf, [x]) for n, f, tf, x in UNARY] + [(n, f, tf, [a, b])
                                                     for n, f, tf, a, b in BINARY]
IDS = [c[0] for c in ALL]


def _dg(arrays, dtype="float64", requires_grad=True):
    return [dg.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in arrays]


def _torch(arrays, dtype=torch.float64):
    return [torch.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_value_and_gradient_match_torch(case, dtype):
    _, f, tf, arrays = case
    xs, ts = _dg(arrays, dtype), _torch(arrays, getattr(torch, dtype))
    out, tout = f(*xs), tf(*ts)
    w = rng.standard_normal(out.shape).astype(dtype)
    (out * dg.tensor(w)).sum().backward()
    (tout * torch.from_numpy(w)).sum().backward()
    assert out.dtype == np.dtype(dtype)
    tol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    for x, t in zip(xs, ts, strict=True):
        assert x.grad.dtype == np.dtype(dtype) and x.grad.shape == x.shape
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_gradient_matches_finite_differences(case):
    _, f, _, arrays = case
    xs = _dg(arrays)
    f(*xs).sum().backward()

    def total(*vals):
        with dg.no_grad():
            return float(f(*[dg.tensor(v, dtype="float64") for v in vals]).data.sum())

    for k, x in enumerate(xs):
        num = numeric_grad(total, arrays, k)
        np.testing.assert_allclose(x.grad.data, num, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_second_derivatives_with_create_graph_match_torch(case):
    _, f, tf, arrays = case
    xs, ts = _dg(arrays), _torch(arrays)
    gs = dg.autograd_grad(f(*xs).sum(), xs, create_graph=True)
    tgs = torch.autograd.grad(tf(*ts).sum(), ts, create_graph=True)
    w = [rng.standard_normal(np.shape(a)) for a in arrays]
    total = sum((g * dg.tensor(v, dtype="float64")).sum() for g, v in zip(gs, w, strict=True))
    tsum = sum((g * torch.from_numpy(v)).sum() for g, v in zip(tgs, w, strict=True))
    assert total.requires_grad == tsum.requires_grad  # piecewise-linear ops: a constant slope
    if not tsum.requires_grad:
        return
    total.backward()
    tsum.backward()
    for x, t in zip(xs, ts, strict=True):
        want = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        got = x.grad.data if x.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_forward_mode_matches_torch(case):
    _, f, tf, arrays = case
    tangents = [rng.standard_normal(np.shape(a)) for a in arrays]
    out, tan = dg.jvp(f, _dg(arrays, requires_grad=False), tangents)
    tout, ttan = TF.jvp(tf, tuple(torch.tensor(a) for a in arrays),
                        tuple(torch.tensor(t) for t in tangents))
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tan.data, ttan.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_jacobian_both_modes_match_torch(case, mode):
    _, f, tf, arrays = case
    for k in range(len(arrays)):
        jac = dg.jacobian(f, argnums=k, mode=mode)(*_dg(arrays, requires_grad=False))
        tjac = TF.jacobian(tf, tuple(torch.tensor(a) for a in arrays))[k]
        np.testing.assert_allclose(jac.data, tjac.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in ALL if len(c[3]) == 1], ids=lambda c: c[0])
def test_hessian_matches_torch(case):
    _, f, tf, (x,) = case
    hess = dg.hessian(lambda a: (f(a) * f(a)).sum())(dg.tensor(x, dtype="float64"))
    thess = TF.hessian(lambda a: (tf(a) * tf(a)).sum(), torch.tensor(x))
    np.testing.assert_allclose(hess.data, thess.numpy(), rtol=1e-10, atol=1e-12)


def test_minimum_hessian_matches_torch():
    a, b = rng.standard_normal(4), rng.standard_normal(4)
    f = lambda x: (dg.minimum(x, dg.tensor(b, dtype="float64")) * x).sum()
    tf = lambda x: (torch.minimum(x, torch.tensor(b)) * x).sum()
    np.testing.assert_allclose(dg.hessian(f)(dg.tensor(a, dtype="float64")).data,
                               TF.hessian(tf, torch.tensor(a)).numpy(), atol=1e-12)


NEW = ("sin", "cos", "log1p", "expm1", "softplus", "square", "minimum", "clamp")


@pytest.mark.parametrize("name", NEW)
def test_each_new_op_is_one_elementwise_table_entry(name):
    op = OPS[name]
    assert op.elementwise and op.symbolic is not None and op.formula is not None and op.doc
    assert len(op.vjp) == len(op.jvp) == len(op.args)
    assert getattr(dg, name) is getattr(dg.ops, name)


@pytest.mark.parametrize("name, attrs, points", [
    ("sin", {}, [-2.0, 0.3, 1.7]), ("cos", {}, [-2.0, 0.3, 1.7]),
    ("log1p", {}, [-0.5, 0.2, 4.0]), ("expm1", {}, [-2.0, 0.0, 1.5]),
    ("softplus", {}, [-5.0, 0.0, 3.0]), ("square", {}, [-1.5, 0.0, 2.5]),
    ("clamp", {"min": -0.5, "max": 1}, [-2.0, 0.25, 3.0]),
    ("clamp", {"min": None, "max": 0.5}, [-2.0, 0.9]),
])
def test_formula_is_sympys_derivative_of_the_symbolic_forward(name, attrs, points):
    sp = pytest.importorskip("sympy")
    op, a = OPS[name], sp.Symbol("a", real=True)
    fwd = op.symbolic(a, **attrs)
    want = sp.diff(fwd, a)
    got = op.formula[0](a, fwd, **attrs)
    for p in points:
        at = {a: sp.Float(p)}
        assert abs(float(got.subs(at)) - float(want.subs(at))) < 1e-12
        value = float(fwd.subs(at))
        assert abs(value - float(op.forward(np.float64(p), **attrs))) < 1e-12


def test_minimum_formula_is_sympys_derivative():
    sp = pytest.importorskip("sympy")
    a, b = sp.symbols("a b", real=True)
    op = OPS["minimum"]
    fwd = op.symbolic(a, b)
    for k, s in enumerate((a, b)):
        for pa, pb in ((0.3, 1.0), (2.0, -1.0)):
            at = {a: pa, b: pb}
            assert float(op.formula[k](a, b, fwd).subs(at)) == float(sp.diff(fwd, s).subs(at))


def test_minimum_splits_ties_evenly_like_torch():
    a = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = dg.tensor([[1.0, 5.0, 3.0], [0.0, 2.0, 3.0]], requires_grad=True)
    ta, tb = torch.tensor([1.0, 2.0, 3.0], requires_grad=True), torch.tensor(
        [[1.0, 5.0, 3.0], [0.0, 2.0, 3.0]], requires_grad=True)
    dg.minimum(a, b).sum().backward()
    torch.minimum(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad.data, ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.data, tb.grad.numpy())
    assert dg.minimum(a, b).op == "minimum"  # one node, no longer −max(−a, −b)


def test_clamp_passes_the_gradient_at_the_bounds_like_torch():
    v = [-1.0, 0.0, 0.5, 1.0, 2.0, float("nan")]
    for lo, hi in ((0.0, 1.0), (None, 1.0), (0.0, None), (1.5, 0.5)):
        x, t = dg.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
        y, ty = dg.clamp(x, lo, hi), torch.clamp(t, lo, hi)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_array_equal(y.data, ty.detach().numpy())
        np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_clamp_needs_a_bound_and_keeps_integer_tensors_integer():
    with pytest.raises(ValueError, match="at least one"):
        dg.clamp(dg.tensor([1.0]))
    y = dg.tensor([1, 5, 9]).clamp(2, 6)
    np.testing.assert_array_equal(y.data, [2, 5, 6])
    assert y.dtype == np.int64


def test_clamp_in_place_is_one_recorded_node_like_torch():
    v = [-1.0, 0.2, 0.5, 3.0]
    x, t = dg.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    y, ty = x * 2, t * 2
    assert y.clamp_(0, 1) is y
    ty.clamp_(0, 1)
    assert y.op == "clamp"
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy())
    np.testing.assert_allclose(x.grad.data, t.grad.numpy())


def test_clamp_in_place_follows_the_in_place_rules():
    x = dg.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.clamp_(0, 1)
    y = x * 1
    z = y * y  # saved y's values
    y.clip_(min=0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    with dg.no_grad():
        x.clamp_(max=0.5)
    np.testing.assert_array_equal(x.data, [-1.0, 0.5])
    w = dg.tensor([3.0, -2.0])
    before = w._version
    w.clip_(-1, 1)
    np.testing.assert_array_equal(w.data, [1.0, -1.0])
    assert w._version > before


def test_softplus_is_stable_and_matches_torch_in_the_tails():
    v = np.array([-1000.0, -100.0, -30.0, -1e-8, 0.0, 19.9, 20.0, 20.5, 30.0, 1000.0])
    for dtype, tdt in (("float64", torch.float64), ("float32", torch.float32)):
        x, t = dg.tensor(v, dtype=dtype, requires_grad=True), torch.tensor(
            v, dtype=tdt, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = dg.softplus(x)
            y.sum().backward()
        ty = F.softplus(t)
        ty.sum().backward()
        eps = np.finfo(dtype).eps  # σ = e^(a − softplus(a)): a few ulp from torch's z/(z + 1)
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=eps, atol=0)
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=16 * eps, atol=0)


def test_log1p_and_expm1_are_accurate_for_tiny_arguments():
    x = dg.tensor([1e-12, -1e-15], dtype="float64")
    np.testing.assert_allclose(dg.log1p(x).data, [1e-12 - 5e-25, -1e-15], rtol=1e-15)
    np.testing.assert_allclose(dg.expm1(x).data, [1e-12 + 5e-25, -1e-15], rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["sin", "cos", "log1p", "expm1", "softplus", "square", "clamp"])
def test_one_number_takes_the_same_values_as_arrays(name, dtype):
    f = (lambda a: dg.clamp(a, -0.25, 0.5)) if name == "clamp" else getattr(dg, name)
    vals = [-0.6, -0.3, 0.0, 0.4, 2.0, 25.0]
    whole = f(dg.tensor(vals, dtype=dtype, requires_grad=True))
    for k, v in enumerate(vals):
        x = dg.tensor(v, dtype=dtype, requires_grad=True)
        y = f(x)
        y.backward()
        assert y.dtype == np.dtype(dtype) and x.grad.dtype == np.dtype(dtype)
        # one number goes through math in float64 (then rounded), arrays through NumPy
        np.testing.assert_allclose(y.item(), whole.data[k], rtol=np.finfo(dtype).eps)


def test_tensor_methods_and_functional_softplus():
    x = dg.tensor([0.3, -0.7], dtype="float64")
    for name in ("sin", "cos", "log1p", "expm1", "square"):
        np.testing.assert_array_equal(getattr(x, name)().data, getattr(dg, name)(x).data)
    np.testing.assert_array_equal(x.clip(0, 1).data, x.clamp(0, 1).data)
    np.testing.assert_array_equal(dg.nn.functional.softplus(x).data, dg.softplus(x).data)
    assert dg.clip is dg.clamp
