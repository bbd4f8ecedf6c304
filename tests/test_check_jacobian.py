"""dg.check.jacobian: a Jacobian written as a matrix expression in s or z, checked at random
points; the oracles (dg.jacobian and SymPy) are compared here with PyTorch's Jacobian."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from dagrad.check.matrix_expression import parse_matrix
from dagrad.expression import ExpressionError, numpy_functions

torch = pytest.importorskip("torch")
pytest.importorskip("sympy")


@pytest.mark.parametrize("function, answer", [
    ("softmax", "diag(s) - s @ sᵀ"), ("softmax", "diag(s) - s·s^T"),
    ("softmax", "diag(s) - s @ s.T"), ("softmax", "diag(s) @ I - s⋅sᵀ"),
    ("tanh", "diag(1 - s**2)"), ("tanh", "diag(1 - tanh(z)^2)"), ("tanh", "I - diag(s²)"),
    ("sigmoid", "diag(s*(1-s))"), ("sigmoid", "diag(sigmoid(z)*(1 - sigmoid(z)))"),
    ("relu", "diag(z / abs(z) / 2 + 1/2)"),
])
def test_right_answers_are_right(function, answer):
    r = dg.check.jacobian(function, answer)
    assert r.ok, (answer, r.diagnosis)


def test_the_oracles_agree_with_pytorch():
    r = dg.check.jacobian("softmax", "diag(s) - s @ sᵀ")
    for z, ours, sym in zip(r.data["points"], r.data["engine"], r.data["sympy"], strict=True):
        t = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0),
                                               torch.tensor(z, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(ours, t, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(sym, t, rtol=1e-12, atol=1e-14)
    r = dg.check.jacobian("tanh", "diag(1 - s**2)")
    z = r.data["points"][0]
    t = torch.autograd.functional.jacobian(torch.tanh, torch.tensor(z, dtype=torch.float64))
    np.testing.assert_allclose(r.data["sympy"][0], t.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("function, answer, words", [
    ("softmax", "s @ s.T - diag(s)", "the sign is wrong"),
    ("softmax", "- s @ sᵀ", "the diagonal term diag(s) is missing"),
    ("softmax", "diag(s)", "the term − s @ sᵀ is missing"),
    ("softmax", "diag(s) - sᵀ @ s", "is a number (an inner product sᵀs)"),
    ("softmax", "s @ s", "not defined: s (4×1) @ s (4×1)"),
    ("softmax", "2*(diag(s) - s @ sᵀ)", "yours is 2 times the Jacobian"),
    ("tanh", "diag(1 - z**2)", "you wrote z where the output s belongs"),
    ("tanh", "1 - s**2", "yours gives 4×1, but the Jacobian of tanh on 4 inputs is 4×4"),
    ("sigmoid", "s @ (1-s).T", "acts elementwise"),
    ("sigmoid", "diag(s*(1+s))", "entry (1,1)"),
])
def test_wrong_answers_get_their_diagnosis(function, answer, words):
    r = dg.check.jacobian(function, answer)
    assert not r.ok
    assert words in "\n".join(r.diagnosis), r.diagnosis


@pytest.mark.parametrize("answer, message", [
    ("exec(s)", "unknown function 'exec'"), ("s.__class__", "only .T"), ("s[0]", "'['"),
    ("q + s", "unknown name 'q'"), ("lambda: s", "Lambda"), ("s ** z", "exponent must be a number"),
    ("s ** 1000", "exponent too large"), ("", "empty"),
])
def test_unsafe_or_unknown_answers_are_refused(answer, message):
    with pytest.raises(ExpressionError, match=None) as e:
        dg.check.jacobian("softmax", answer)
    assert message in str(e.value)


def test_the_reader_never_evaluates_text():
    expr = parse_matrix("diag(s) - s @ sᵀ", ("s", "z"), numpy_functions())
    assert expr.reading == "diag(s) - s @ s.T" and expr.names == {"s"}
    with pytest.raises(ValueError, match="choose one of"):
        dg.check.jacobian("cosh", "I")
