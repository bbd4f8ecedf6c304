"""The op table is the one source of the expression language and of the activation catalogue.

A test walks the op table and fails if any elementwise op with a SymPy forward is missing from
the parser or one of its namespaces; the closed forms (SymPy forward and ``sympy.diff``,
lambdified) are checked against PyTorch and central finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from dagrad import closed_forms
from dagrad.catalogue import NOT_NAMED, OPERATOR_OPS, activation_names, named_functions
from dagrad.expression import (
    FUNCTIONS,
    dagrad_functions,
    numpy_functions,
    parse,
    sympy_functions,
    to_sympy,
)

sympy = pytest.importorskip("sympy")

#: attributes to call a function with in these tests (otherwise its defaults)
ATTRIBUTES = {"leaky_relu": (0.2,), "clamp": (-0.5, 1.0)}
POINTS = np.array([-1.7, -0.6, 0.35, 1.3, 2.2])
OTHER = np.array([0.9, -1.1, 1.4, -0.3, 2.5])  # second operand of a binary function


def elementwise_symbolic_ops() -> list:
    return [op for op in dg.ops.OPS.values() if op.elementwise and op.symbolic is not None]


def test_every_elementwise_op_is_a_function_or_an_operator() -> None:
    names = named_functions()
    for op in elementwise_symbolic_ops():
        if op.name in OPERATOR_OPS or op.name in NOT_NAMED:
            assert op.name not in FUNCTIONS
            continue
        assert op.name in names, f"op {op.name} is not a named function"
        for namespace in (FUNCTIONS, dagrad_functions(), numpy_functions(), sympy_functions()):
            assert op.name in namespace, f"op {op.name} is missing from a parser namespace"


@pytest.mark.parametrize("name", sorted(named_functions()))
def test_parser_calls_reach_the_table(name: str) -> None:
    spec = named_functions()[name]
    variables = [f"x{i}" for i in range(1, spec.inputs + 1)]
    args = [*variables, *map(repr, ATTRIBUTES.get(name, ()))]
    expr = parse(f"{name}({', '.join(args)})")
    assert expr.variables == tuple(variables)
    x = [dg.tensor(v, dtype="float64") for v in (0.7, -0.4)[:spec.inputs]]
    got = expr.evaluate(dict(zip(variables, x, strict=True)))
    want = spec.call(*x, *ATTRIBUTES.get(name, ()))
    np.testing.assert_allclose(got.data, want.data)
    syms = [sympy.Symbol(v, real=True) for v in variables]
    attrs = [sympy.Rational(repr(a)) for a in ATTRIBUTES.get(name, ())]
    assert sympy.simplify(to_sympy(expr) - spec.op.symbolic(*syms, *attrs)) == 0


def test_activation_names_come_from_the_table() -> None:
    names = activation_names()
    assert {"sigmoid", "tanh", "relu", "leaky_relu"} <= set(names)
    for name in names:
        spec = named_functions()[name]
        assert spec.inputs == 1 and dg.ops.OPS[name].symbolic is not None
    assert "clamp" not in names  # clamp(x) alone names no function
    for name in ("sin", "softplus"):
        if name in dg.ops.OPS:
            assert name in names


def test_aliases_and_composites() -> None:
    assert to_sympy(parse("ln(x)")) == sympy.log(sympy.Symbol("x", real=True))
    if "clamp" in dg.ops.OPS:
        assert parse("clip(x, 0, 1)").tree == parse("clamp(x, 0, 1)").tree
    assert to_sympy(parse("square(x)")) == sympy.Symbol("x", real=True) ** 2


def _torch_function(name: str):
    torch = pytest.importorskip("torch")
    return getattr(torch, name, None) or getattr(torch.nn.functional, name, None)


@pytest.mark.parametrize("name", sorted(named_functions()))
def test_closed_forms_agree_with_pytorch(name: str) -> None:
    torch = pytest.importorskip("torch")
    fn = _torch_function(name)
    if fn is None:
        pytest.skip(f"PyTorch has no {name}")
    spec = named_functions()[name]
    attrs = ATTRIBUTES.get(name, ())
    inputs = [POINTS, OTHER][:spec.inputs]
    with np.errstate(all="ignore"):
        value = closed_forms.numpy_forward(name)(*inputs, *attrs)
    ok = np.isfinite(value)
    tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    out = fn(*tensors, *attrs)
    np.testing.assert_allclose(value[ok], out.detach().numpy()[ok], rtol=1e-12, atol=1e-14)
    out.sum().backward()
    for k, t in enumerate(tensors):
        with np.errstate(all="ignore"):
            d = closed_forms.numpy_derivative(name, k)(*inputs, *attrs)
        np.testing.assert_allclose(d[ok], t.grad.numpy()[ok], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(named_functions()))
def test_closed_form_derivatives_agree_with_finite_differences(name: str) -> None:
    spec = named_functions()[name]
    attrs = ATTRIBUTES.get(name, ())
    inputs = [POINTS, OTHER][:spec.inputs]
    forward = closed_forms.numpy_forward(name)
    h = 1e-6
    for k in range(spec.inputs):
        step = [np.zeros_like(v) for v in inputs]
        step[k] = np.full_like(inputs[k], h)
        with np.errstate(all="ignore"):
            up = forward(*(v + s for v, s in zip(inputs, step, strict=True)), *attrs)
            down = forward(*(v - s for v, s in zip(inputs, step, strict=True)), *attrs)
            d = closed_forms.numpy_derivative(name, k)(*inputs, *attrs)
        ok = np.isfinite(up) & np.isfinite(down)
        np.testing.assert_allclose(d[ok], ((up - down) / (2 * h))[ok], rtol=1e-6, atol=1e-8)


def test_sigmoid_closed_form_is_stable() -> None:
    u = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    s = closed_forms.sigmoid(u)
    assert np.all(np.isfinite(s)) and s[2] == 0.5 and s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_allclose(closed_forms.sigmoid_derivative(np.array([0.0])), [0.25])
    lam = closed_forms.numpy_forward("sigmoid")(np.array([-3.0, 0.5, 4.0]))
    np.testing.assert_allclose(closed_forms.sigmoid(np.array([-3.0, 0.5, 4.0])), lam)


@pytest.mark.parametrize("name", sorted(closed_forms.WITHOUT_SYMPY))
def test_numpy_written_activations_agree_with_pytorch_and_sympy(name: str) -> None:
    torch = pytest.importorskip("torch")
    assert name in activation_names()
    attrs = ATTRIBUTES.get(name, ())
    u = np.concatenate([POINTS, [0.0, -40.0, 40.0]])
    t = torch.tensor(u, dtype=torch.float64, requires_grad=True)
    out = _torch_function(name)(t, *attrs)
    out.sum().backward()
    np.testing.assert_allclose(closed_forms.activation(name)(u, *attrs), out.detach().numpy(),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(closed_forms.activation_derivative(name)(u, *attrs),
                               t.grad.numpy(), rtol=1e-12, atol=1e-300)  # kinks as PyTorch
    np.testing.assert_allclose(closed_forms.activation_derivative(name)(POINTS, *attrs),
                               closed_forms.numpy_derivative(name)(POINTS, *attrs), rtol=1e-12)


def test_vanishing_takes_every_activation_of_the_table() -> None:
    from dagrad.explain.vanishing_chain.scalar_chain import NAMED, activation, vanishing

    assert NAMED == activation_names()
    for name in ("softplus", "sin"):
        if name not in dg.ops.OPS:
            continue
        act = activation(name)
        assert act.label == name and act.expr is not None and act.sym is not None
        report = vanishing(6, [name], seed=0)
        assert report.ok
    assert activation("leaky_relu(x)").kind == "leaky_relu"


def test_jacobian_forms_cover_every_activation_of_the_table() -> None:
    from dagrad.explain.mlp_jacobians import jacobians as jac

    assert set(activation_names()) | {"identity"} == set(jac.ACTIVATION_FORMS)
    o = np.array([-1.3, 0.4, 2.1])
    for name in activation_names():
        form = jac.ACTIVATION_FORMS[name]
        assert form.name == name and "{o}" in form.text and "{o}" in form.latex
        assert form.text.format(o="o1")
        with np.errstate(invalid="ignore", divide="ignore"):  # sqrt and log below 0: nan
            expected = closed_forms.activation_derivative(name)(o)
            np.testing.assert_allclose(np.diag(jac.activation_jacobian(name, o)), expected)
    if "softplus" in dg.ops.OPS:
        assert "exp(u)/(exp(u) + 1)" in jac.ACTIVATION_FORMS["softplus"].derivation
    with pytest.raises(ValueError, match="no closed form"):
        jac.activation("softsign", o)


def test_cli_activation_lists_come_from_the_table() -> None:
    import argparse

    from dagrad.cli import mlp_jacobians, needs

    p = argparse.ArgumentParser()
    mlp_jacobians.add_arguments(p)
    choices = next(a.choices for a in p._actions if a.dest == "activation")
    assert choices == list(activation_names())  # dg.nn.MLP builds every table activation
    assert {"tanh", "sigmoid", "relu"} <= set(choices)
    assert set(needs._without_sympy()) <= set(activation_names())
    assert needs._is_activation_name("tanh(x)") and needs._is_activation_name("leaky_relu:0.1")
    assert not needs._is_activation_name("x / (1 + abs(x))")
    if "softplus" in dg.ops.OPS:  # a table activation without written-out forms needs SymPy
        assert not needs._is_activation_name("softplus")
