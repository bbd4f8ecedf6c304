"""Reverse mode: graph shapes (reuse, diamonds, long chains), accumulation, higher order, errors."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from conftest import to_torch, torch


def test_rosenbrock_gradient_matches_closed_form():
    x = dg.tensor([1.5, 2.0], requires_grad=True, dtype="float64", name="x")
    f = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
    f.backward()
    x1, x2 = 1.5, 2.0
    closed = [-400 * x1 * (x2 - x1**2) - 2 * (1 - x1), 200 * (x2 - x1**2)]
    np.testing.assert_allclose(x.grad.data, closed, rtol=1e-14)
    np.testing.assert_allclose(x.grad.data, [151.0, -50.0])
    assert f.item() == pytest.approx(6.5)


def test_node_reused_many_times():
    x = dg.tensor(1.3, dtype="float64", requires_grad=True)
    y = x
    terms = [x * x for _ in range(50)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    total.backward()
    assert x.grad.item() == pytest.approx(50 * 2 * 1.3)
    y = x * x * x * x  # x used 4 times in one chain
    x.grad = None
    y.backward()
    assert x.grad.item() == pytest.approx(4 * 1.3**3)


def test_diamond():
    x = dg.tensor(0.7, dtype="float64", requires_grad=True)
    a = dg.sin(x) if hasattr(dg, "sin") else dg.tanh(x)
    b = dg.exp(x)
    c = a * b + a / b
    c.backward()
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    ta, tb = (torch.sin(t) if hasattr(dg, "sin") else torch.tanh(t)), torch.exp(t)
    (ta * tb + ta / tb).backward()
    assert x.grad.item() == pytest.approx(t.grad.item(), rel=1e-14)


def test_two_leaves_with_equal_values_stay_distinct():
    a = dg.tensor(2.0, requires_grad=True, dtype="float64")
    b = dg.tensor(2.0, requires_grad=True, dtype="float64")
    (a * a * b).backward()
    assert a.grad.item() == 8.0 and b.grad.item() == 4.0


def test_chain_of_100000_ops_needs_no_recursion():
    x = dg.tensor(0.5, dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0000001**100_000, rel=1e-9)


def test_gradients_accumulate_like_pytorch():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3 + 2, 3 + 4])


def test_leaf_grads_do_not_alias_each_other():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = dg.tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()
    x.grad.zero_()
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])


def test_backward_with_explicit_grad_keeps_callers_array():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    g = np.array([1.0, 1.0], dtype=np.float32)
    (x + 0).backward(g)
    x.grad.data += 5
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_retain_grad_on_intermediate():
    x = dg.tensor(3.0, requires_grad=True, dtype="float64")
    h = x * x
    h.retain_grad()
    (h * 2).backward()
    assert h.grad.item() == 2.0 and x.grad.item() == 12.0


@pytest.mark.parametrize("x0,order,expected", [(2.0, 2, 12.0), (2.0, 3, 6.0), (1.5, 1, 6.75)])
def test_higher_order_of_cube(x0, order, expected):
    f = lambda x: x**3
    for _ in range(order):
        f = dg.grad(f)
    assert f(dg.tensor(x0, dtype="float64")).item() == pytest.approx(expected)


def test_create_graph_second_derivative_via_backward():
    x = dg.tensor(2.0, dtype="float64", requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.item() == 12.0
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0


@pytest.mark.parametrize("x0", [-1.2, 0.3, 0.9])
def test_third_derivative_of_tanh_matches_torch(x0):
    d3 = dg.grad(dg.grad(dg.grad(dg.tanh)))(dg.tensor(x0, dtype="float64")).item()
    t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    (g1,) = torch.autograd.grad(torch.tanh(t), t, create_graph=True)
    (g2,) = torch.autograd.grad(g1, t, create_graph=True)
    (g3,) = torch.autograd.grad(g2, t)
    th = np.tanh(x0)
    closed = -2 * (1 - th**2) * (1 - 3 * th**2)
    assert d3 == pytest.approx(g3.item(), rel=1e-12) and d3 == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize("fn,tfn", [
    (lambda x: dg.softmax(x)[0], lambda x: torch.softmax(x, -1)[0]),
    (lambda x: dg.log_softmax(x)[1], lambda x: torch.log_softmax(x, -1)[1]),
    (lambda x: dg.cross_entropy(x, 2), lambda x: torch.nn.functional.cross_entropy(
        x[None], torch.tensor([2]))),
    (lambda x: (dg.sigmoid(x) * dg.sqrt(dg.exp(x))).sum(),
     lambda x: (torch.sigmoid(x) * torch.sqrt(torch.exp(x))).sum()),
    (lambda x: (x.max() * dg.abs(x)).sum(), lambda x: (x.amax() * torch.abs(x)).sum()),
    (lambda x: (x[[0, 0, 2]] ** 3 / dg.stack([x, x]).sum()).sum(),
     lambda x: (x[[0, 0, 2]] ** 3 / torch.stack([x, x]).sum()).sum()),
])
def test_hessians_of_ops_match_torch(fn, tfn):
    x0 = np.array([0.3, -0.8, 1.1])
    h = dg.hessian(fn)(dg.tensor(x0, dtype="float64"))
    th = torch.func.hessian(tfn)(torch.tensor(x0))
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-9, atol=1e-12)


def test_reverse_over_reverse_equals_forward_over_reverse():
    f = lambda x: (dg.tanh(x) * x**2).sum() * dg.exp(x[0])
    x0 = dg.tensor([0.2, -0.5, 0.7], dtype="float64")
    h_fr = dg.hessian(f)(x0)
    h_rr = dg.jacobian(dg.grad(f), mode="reverse")(x0)
    np.testing.assert_allclose(h_fr.data, h_rr.data, rtol=1e-12)


# ----- no_grad, detach ---------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = dg.tensor([1.0], requires_grad=True)
    with dg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_detach_cuts_the_graph():
    x = dg.tensor(3.0, requires_grad=True, dtype="float64")
    y = x * x.detach()
    y.backward()
    assert x.grad.item() == 3.0  # not 6: the detached factor is a constant


# ----- errors ------------------------------------------------------------------------------
def test_backward_on_non_scalar_needs_grad():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*grad="):
        (x * 2).backward()


def test_backward_grad_shape_checked():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\)"):
        (x * 2).backward(np.ones(3))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        dg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="integer"):
        dg.grad(lambda x: (x * x).sum())(np.array([1, 2]))
    with pytest.raises(TypeError, match="floating-point"):
        dg.tensor([True]).requires_grad_()


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        dg.tensor(1.0).backward()


@pytest.mark.parametrize("a,b", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,))])
def test_matmul_shape_error_names_op_and_shapes(a, b):
    with pytest.raises(ValueError, match=rf"matmul.*{a[0]}.*{b[0]}"):
        dg.matmul(dg.zeros(*a), dg.zeros(*b))


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b,
                                lambda a, b: a / b, dg.maximum])
def test_broadcast_error_names_op_and_shapes(op):
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\) cannot be broadcast"):
        op(dg.zeros(2, 3), dg.zeros(4))


def test_reshape_and_axis_errors_are_clear():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        dg.zeros(2, 3).reshape(4)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        dg.zeros(2, 3).sum(axis=2)
    with pytest.raises(IndexError, match="too many indices"):
        dg.zeros(2)[0, 1]


# ----- dtypes and representation -----------------------------------------------------------
def test_default_dtype_float32_and_switch():
    assert dg.tensor([1.0]).dtype == np.float32
    dg.set_default_dtype("float64")
    assert dg.tensor([1.0]).dtype == np.float64 and dg.randn(2).dtype == np.float64
    dg.set_default_dtype("float32")
    assert dg.tensor(np.array([1.0])).dtype == np.float64  # ndarrays keep their dtype (as torch)
    assert dg.tensor([1, 2]).dtype == np.int64
    with pytest.raises(TypeError):
        dg.set_default_dtype("int32")


def test_tensor_basics():
    x = dg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="x")
    assert x.shape == (2, 2) and x.ndim == 2 and x.T.shape == (2, 2)
    assert np.asarray(x).shape == (2, 2) and x.numpy() is x.data
    assert "requires_grad=True" in repr(x) and "name='x'" in repr(x)
    assert "op=mul" in repr(x * 2)
    assert x[0, 1].item() == 2.0
    with pytest.raises(ValueError, match="4 elements"):
        x.item()
    d = x.detach()
    assert d.data is x.data and not d.requires_grad


def test_numpy_ufuncs_and_mixed_operands_go_through_the_op_table():
    x = dg.tensor([0.5, 1.5], requires_grad=True, dtype="float64")
    y = np.exp(x) * np.array([2.0, 3.0]) + np.tanh(x)
    assert isinstance(y, dg.Tensor)
    y.sum().backward()
    t = to_torch(np.array([0.5, 1.5]))
    (torch.exp(t) * torch.tensor([2.0, 3.0], dtype=torch.float64) + torch.tanh(t)).sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy())
    assert isinstance(np.array([1.0, 2.0]) @ x, dg.Tensor)


def test_comparisons_have_no_gradient():
    x = dg.tensor([1.0, -1.0], requires_grad=True)
    m = x > 0
    assert m.dtype == np.bool_ and not m.requires_grad
