"""Exercise (a)'s checks are real: a broken derivative rule fails them (report, CLI exit status,
tour), underflow means "below float64's smallest normal number", and an expression's σ' and
sup|σ'| come from SymPy, not from dagrad's op table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dagrad.cli import main
from dagrad.explain.vanishing_chain.activation_sympy import analyse
from dagrad.explain.vanishing_chain.scalar_chain import _flag, activation, vanishing
from dagrad.expression import ExpressionError, parse
from dagrad.ops import OPS

SOFTSIGN = "x / (1 + abs(x))"
LOG10_TINY = math.log10(np.finfo(np.float64).tiny)


@pytest.fixture
def broken_sigmoid(monkeypatch):
    """sigmoid's reverse-mode rule multiplies by 0 (a wrong rule, as a student might write)."""
    monkeypatch.setattr(OPS["sigmoid"], "vjp", (lambda g, a, out: g * 0,))


@pytest.fixture
def abs_three_times(monkeypatch):
    """abs's reverse-mode rule is 3× too large."""
    monkeypatch.setattr(OPS["abs"], "vjp", (lambda g, a, out: 3 * g * np.sign(a),))


# --------------------------------------------------------------------------- failed checks


def test_broken_sigmoid_rule_is_a_failed_check_not_underflow(broken_sigmoid):
    rep = vanishing(20, ["sigmoid", "tanh"], seed=0)
    r = rep["sigmoid"]
    assert np.all(r.autodiff == 0)
    assert np.all(r.log10_abs > -20)  # the closed form is nowhere near float64's limits
    assert set(r.flags) == {"mismatch"}
    assert "underflow" not in str(rep)
    np.testing.assert_array_equal(r.failed_layers, np.arange(1, 21))
    assert not r.ok and not rep.ok and rep["tanh"].ok
    assert "CHECK FAILED" in r.summary()[0]
    assert rep.failures() == ["σ = sigmoid: autodiff ≠ closed form at 20 of 20 layers (i = 1..20)"]


def test_zero_autodiff_beside_a_normal_closed_form_is_a_mismatch():
    """_flag alone: autodiff 0 is underflow only where the closed form is below tiny."""
    assert _flag(0.0, 1e-3, -3.0, 1.0, None, 20) == "mismatch"
    assert _flag(0.0, 1e-300, -300.0, 1.0, None, 20) == "mismatch"
    assert _flag(0.0, 0.0, -400.0, 1.0, None, 20) == "underflow"
    assert _flag(0.0, 1e-310, math.log10(1e-310), 1.0, None, 20) == "underflow"
    assert _flag(1e-310, 1e-310, math.log10(1e-310), 1.0, None, 20) == "subnormal"
    assert _flag(3e-310, 1e-310, math.log10(1e-310), 1.0, None, 20) == "mismatch"
    assert _flag(-1e-3, 1e-3, -3.0, 1.0, None, 20) == "mismatch"
    assert _flag(1e-3 * (1 + 1e-12), 1e-3, -3.0, 1.0, None, 20) == "ok"
    assert _flag(math.inf, 1.0, 0.0, 1.0, None, 20) == "mismatch"
    assert _flag(math.inf, math.inf, 400.0, 1.0, None, 20) == "overflow"
    assert _flag(math.nan, 1.0, 0.0, 1.0, None, 20) == "mismatch"


def test_genuine_underflow_is_still_labelled_underflow():
    rep = vanishing(2000, "sigmoid", weights=0.5)
    r = rep["sigmoid"]
    uf = r.underflow_layers
    assert uf.size > 1000 and r.ok and rep.ok
    assert np.all(r.autodiff[uf - 1] == 0)
    assert np.all(r.log10_abs[uf - 1] < LOG10_TINY)  # below the smallest normal float64
    # every layer is either a normal-range match, subnormal or underflow: nothing failed
    assert set(r.flags) <= {"ok", "subnormal", "underflow"} and r.failed_layers.size == 0
    assert "smallest normal number" in " ".join(r.summary())


def test_cli_vanishing_exits_1_when_a_check_fails(broken_sigmoid, capsys):
    assert main(["vanishing", "--depth", "20", "--activations", "sigmoid,tanh", "--seed", "0"]) == 1
    captured = capsys.readouterr()
    assert "CHECK FAILED" in captured.out
    assert "CHECK FAILED: σ = sigmoid" in captured.err


def test_cli_vanishing_exits_0_when_every_check_passes(capsys):
    assert main(["vanishing", "--depth", "2000", "--weights", "0.5", "--activations",
                 f"sigmoid,tanh,{SOFTSIGN}", "--rows", "5"]) == 0
    assert "underflow" in capsys.readouterr().out


# --------------------------------------------------------------------------- expressions


def test_wrong_abs_rule_fails_the_expression_check(abs_three_times):
    r = vanishing(20, SOFTSIGN, seed=0)[SOFTSIGN]
    # σ' comes from SymPy, untouched by the broken rule ...
    np.testing.assert_allclose(r.derivative, 1 / (1 + np.abs(r.u)) ** 2, rtol=1e-14)
    # ... so autodiff's wrong values are caught
    assert r.failed_layers.size == 20 and not r.ok
    assert "CHECK FAILED" in r.summary()[0]


def test_expression_derivative_takes_no_backward_pass(monkeypatch):
    """Only the chain itself is differentiated by dagrad; σ' is SymPy's."""
    from dagrad import autodiff

    calls = []
    real = autodiff.backprop
    monkeypatch.setattr(autodiff, "backprop", lambda *a, **k: calls.append(1) or real(*a, **k))
    r = vanishing(12, SOFTSIGN, seed=0)[SOFTSIGN]
    assert len(calls) == 1 and r.ok
    assert "by SymPy" in r.activation.formula


@pytest.mark.parametrize("spelling", ["1/(1+exp(-x))", "exp(x)/(1+exp(x))", "1/(exp(-x) + 1)",
                                      "(1 + tanh(x/2))/2"])
def test_sigmoid_spellings_are_recognised(spelling):
    a = activation(spelling)
    assert a.kind == "sigmoid" and a.expr is not None
    rep = vanishing(15, ["sigmoid", spelling], seed=4)
    named, typed = rep["sigmoid"], rep[spelling]
    np.testing.assert_allclose(typed.log10_bound, named.log10_bound, rtol=1e-14)
    np.testing.assert_allclose(typed.log10_coarse_bound, -(15 - np.arange(15)) * math.log10(4))
    np.testing.assert_allclose(typed.autodiff, named.autodiff, rtol=1e-12)
    assert typed.ok and "1/4" in a.formula and "SymPy shows" in a.formula


def test_near_sigmoids_are_not_recognised():
    for text, sup in (("1/(1+exp(-2*x))", 0.5), ("1/(1+exp(-x)) + 0.001*x", None)):
        a = activation(text)
        assert a.kind == "expression", text
        if sup is not None:
            assert a.sym.sup_exact and a.sym.sup == sup
    assert activation("2*sigmoid(2*x) - 1").kind == "tanh"


def test_sup_of_the_derivative_exact_or_estimated():
    cases = {SOFTSIGN: 1.0, "exp(-x**2)": math.sqrt(2) * math.exp(-0.5),
             "relu(x) + 0.1*x": 1.1, "log(1 + exp(x))": 1.0, "abs(x - 1)/2 + abs(x + 1)": 1.5}
    for text, want in cases.items():
        s = analyse(parse(text))
        assert s.sup_exact, text
        assert s.sup == pytest.approx(want, rel=1e-14), text
    # swish: σ'' = 0 has no closed-form solution: a numerical estimate, said so
    s = analyse(parse("x * sigmoid(x)"))
    assert not s.sup_exact and "numerical estimate" in s.sup_sentence()
    u = np.linspace(2.3, 2.5, 200_001)
    sig = 1 / (1 + np.exp(-u))
    assert s.sup == pytest.approx(np.max(sig + u * sig * (1 - sig)), rel=1e-12)
    for unbounded in ("x**3", "log(x)", "(x + 1)**64"):
        assert analyse(parse(unbounded)).sup == math.inf, unbounded


def test_expression_bound_from_sympy_and_the_report_says_how():
    rep = vanishing(10, ["x * sigmoid(x)", "x**3"], weights=0.4, x=0.7)
    swish, cube = rep["x * sigmoid(x)"], rep["x**3"]
    m = swish.activation.sym.sup
    h = swish.h
    i = np.arange(1, 11)
    want = np.log10(np.abs(h[:-1])) + (10 - i + 1) * math.log10(m) + (10 - i) * math.log10(0.4)
    np.testing.assert_allclose(swish.log10_bound, want, rtol=1e-12)
    assert swish.bound_holds and swish.ok
    assert any("numerical estimate" in s for s in swish.summary())
    assert cube.log10_bound is None and any("unbounded" in s for s in cube.summary())
    assert cube.ok  # no bound, but autodiff still agrees with SymPy's closed form


def test_large_expressions_are_bounded_before_sympy_starts():
    """A power beyond ±6, many kinks or a long σ' skip SymPy's solver (the grid estimates and
    says why); a σ beyond 100 operations is refused with a clear error."""
    s = analyse(parse("sigmoid(x)**8"))
    assert not s.sup_exact and "power" in s.why_estimate and "power" in s.sup_sentence()
    u = np.linspace(-30, 30, 600_001)
    sig = 1 / (1 + np.exp(-u))
    assert s.sup == pytest.approx(np.max(8 * sig**8 * (1 - sig)), rel=1e-9)
    s = analyse(parse("abs(x-1)+abs(x-2)+abs(x-3)+abs(x-4)+abs(x-5)"))
    assert not s.sup_exact and "kinks" in s.why_estimate and s.sup == pytest.approx(5.0)
    big = "*".join(f"tanh(x+{i})" for i in range(1, 41))
    with pytest.raises(ExpressionError, match="at most 100"):
        activation(big)
    assert main(["vanishing", "--activations", big]) == 2


def test_latex_report_stays_ascii_with_estimates_and_failed_checks(broken_sigmoid):
    """pdflatex's inputenc needs the summaries' ≈, ∞, ≠ spelled in ASCII."""
    tex = vanishing(8, ["sigmoid", "x * sigmoid(x)", "x**3"], seed=0).to_latex()
    assert tex.isascii()
    assert "CHECK FAILED" in tex and "numerical estimate" in tex
