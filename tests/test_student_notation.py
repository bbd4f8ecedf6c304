"""Student notation in dagrad.expression: x^2, 2x, x², 2·x, |x|, √x, e^x, ln, max; the reading
echoed back; ambiguous input refused with the spelling to write; gradients of what students
type checked against SymPy (expressions written here with SymPy's own symbols) and float64
finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dagrad as dg
from dagrad.expression import ExpressionError, numpy_functions, parse

sympy = pytest.importorskip("sympy")
X, Y = sympy.symbols("x y", real=True)

# typed, the reading echoed back, an independent SymPy expression of what it means
NOTATION = [
    ("x^2", "x**2", X**2),
    ("x²", "x**2", X**2),
    ("x³ + x⁻¹", "x**3 + x**-1", X**3 + 1 / X),
    ("2x", "2*x", 2 * X),
    ("2 x", "2*x", 2 * X),
    ("2x^2 + e^x", "2*x**2 + exp(x)", 2 * X**2 + sympy.exp(X)),
    ("2·x", "2*x", 2 * X),
    ("3×x⋅y", "3*x*y", 3 * X * Y),
    ("x − y ÷ 2", "x - y/2", X - Y / 2),
    ("ln(x)", "log(x)", sympy.log(X)),
    ("e^x", "exp(x)", sympy.exp(X)),
    ("e**(2x)", "exp(2*x)", sympy.exp(2 * X)),
    ("e^-x", "exp(-x)", sympy.exp(-X)),
    ("exp(x)", "exp(x)", sympy.exp(X)),
    ("|x|", "abs(x)", sympy.Abs(X)),
    ("||x| - y|", "abs(abs(x) - y)", sympy.Abs(sympy.Abs(X) - Y)),
    ("2|x - y|", "2*abs(x - y)", 2 * sympy.Abs(X - Y)),
    ("sin(x)", "sin(x)", sympy.sin(X)),
    ("2sin(x)cos(y)", None, None),  # refused below: a function's value then a function
    ("max(0, x)", "maximum(0, x)", sympy.Max(0, X)),
    ("min(x, y)", "minimum(x, y)", sympy.Min(X, Y)),
    ("√x", "sqrt(x)", sympy.sqrt(X)),
    ("√(x + y)", "sqrt(x + y)", sympy.sqrt(X + Y)),
    ("2√|x|", "2*sqrt(abs(x))", 2 * sympy.sqrt(sympy.Abs(X))),
    ("(x + 1)(y - 1)", "(x + 1)*(y - 1)", (X + 1) * (Y - 1)),
    ("x²y", "x**2*y", X**2 * Y),
    ("x^y", "x**y", X**Y),
    ("2^x", "2**x", 2**X),
    ("x^(y + 1)", "x**(y + 1)", X ** (Y + 1)),
    ("(x^2)^3", "(x**2)**3", X**6),
    ("x^(2^3)", "x**2**3", X**8),
    ("1/(2x)", "1/(2*x)", 1 / (2 * X)),
    ("x/2y", None, None),  # refused below
]
ACCEPTED = [case for case in NOTATION if case[1] is not None]
POINT = {"x": 1.3, "y": 0.7}


@pytest.mark.parametrize(("typed", "reading", "meaning"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_reading_is_echoed(typed: str, reading: str, meaning: object) -> None:
    expr = parse(typed)
    assert expr.reading == reading
    assert expr.read_as.startswith(f"read as: {reading}")
    assert parse(reading).tree == expr.tree  # the echo reads back as the same expression
    assert expr.rewritten == ("".join(typed.split()) != "".join(reading.split()))
    syms = {"x": X, "y": Y}
    assert set(expr.variables) == {str(s) for s in meaning.free_symbols}
    env = {name: POINT[name] for name in expr.variables}
    want = float(meaning.subs({syms[n]: v for n, v in env.items()}))
    assert float(expr.evaluate(env, numpy_functions())) == pytest.approx(want, rel=1e-12)


def test_canonical_text_and_columns_point_at_what_was_typed() -> None:
    assert parse("2x^2").canonical == "2*x**2"
    assert parse("x + 1").canonical == "x + 1"
    with pytest.raises(ExpressionError, match=r"unknown function 'foo' at column 8"):
        parse("2x² + 3foo(x)")
    with pytest.raises(ExpressionError, match=r"division by zero \('x²/0'\) at column 1"):
        parse("x²/0")
    with pytest.raises(ExpressionError,
                       match=r"attribute access is not allowed \('y\.real'\) at column 6"):
        parse("x² + y.real")


REFUSED = [
    ("2^3^2", "'2^3^2' at column 1 is ambiguous: write 2^(3^2) or (2^3)^2"),
    ("x^-y^2", "is ambiguous: write x^(-y^2) or x^((-y)^2)"),
    ("x²^2", "is ambiguous"),
    ("x y", "'x' then 'y' at column 3 is ambiguous: write x*y"),
    ("ex", "'ex' at column 1 is ambiguous: write e*x or exp(x)"),
    ("2 + pix", "'pix' at column 5 is ambiguous: write pi*x"),
    ("sinx", "'sinx' at column 1 is ambiguous: write sin(x)"),
    ("lnx1 + 1", "write ln(x1)"),
    ("sin x", "write sin(x)"),
    ("|x|y|", "ambiguous bars: '|' then 'y' at column 4; write abs(...) and '*' explicitly, "
              "e.g. abs(x)*y or abs(x*abs(y))"),
    ("|x", "unmatched '|' at column 1: close it, or write abs(...)"),
    ("x | y", "'|' at column 3 after 'x' opens no absolute value"),
    ("(|x)|", "')' at column 4 closes a '|' bar opened at column 2"),
    ("1/2x", "'/2x' at column 2 is ambiguous: write /(2*x) to divide by the product, or /2*x"),
    ("x/2y", "'/2y' at column 2 is ambiguous"),
    ("e^2x", "'^2x' at column 2 is ambiguous: write ^(2*x) for a product in the exponent"),
    ("e^-2x", "'^2x' at column 3 is ambiguous"),
    ("√x^2", "'√' at column 1 followed by a power is ambiguous: write sqrt(x^2) or sqrt(x)^2"),
    ("√", "'√' at column 1 must be followed by a number, a name or a bracket"),
    ("√-x", "'√' at column 1 must be followed by a number, a name or a bracket"),
    ("exp(x)(y)", "write '*' between a function's value and what follows, e.g. exp(x)*(y)"),
    ("2sin(x)cos(y)", "write '*' between a function's value and what follows"),
    ("2 3", "two numbers with no operator; write 2*3"),
    ("x(y + 1)", "unknown function 'x' at column 1; known: abs, "),
    ("(x + 1)y", "is ambiguous: write (...)*y for a product"),
    ("1j", "complex numbers are not allowed ('1j') at column 1"),
    ("(-2)^x", "a variable exponent needs a positive constant base (b**y is exp(y*log(b)))"),
    ("x⁻", "superscript '⁻' at column 2 is not an integer exponent"),
    ("²", "superscript '²' at column 1 has no base"),
    ("x ∂ y", "character '∂' (U+2202) is not allowed at column 3"),
]


@pytest.mark.parametrize(("typed", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_ambiguous_input_is_refused_with_the_spelling_to_write(typed: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(typed)
    assert message in str(info.value)


def test_x_of_a_bracket_suggests_a_product() -> None:
    with pytest.raises(ExpressionError, match=r"for a product write x\*\(\.\.\.\)"):
        parse("x(y + 1)")


def test_variable_power_is_noted_and_checked_for_its_domain() -> None:
    expr = parse("x^y")
    assert expr.notes == ("x**y = exp(y*log(x)) is defined for x > 0",)
    assert expr.read_as == "read as: x**y; x**y = exp(y*log(x)) is defined for x > 0"
    assert parse("2^x").notes == ()  # a positive constant base is defined everywhere
    with pytest.raises(ExpressionError, match="defined for a base > 0"):
        expr.evaluate({"x": -1.5, "y": 0.5}, numpy_functions())
    assert expr.evaluate({"x": -2.0, "y": 3.0}, numpy_functions()) == -8.0  # integer: fine


def finite_difference(f, point: dict[str, float], name: str, h: float = 1e-6) -> float:
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    return (f(up) - f(down)) / (2 * h)


GRADIENT_CASES = [
    ("2x^2 + e^x", 2 * X**2 + sympy.exp(X)),
    ("x^y + 3x²y", X**Y + 3 * X**2 * Y),
    ("2^x·y", 2**X * Y),
    ("|x - y|·√x + ln(x)", sympy.Abs(X - Y) * sympy.sqrt(X) + sympy.log(X)),
    ("max(0, x − 2y) + sin(x)y⁻¹", None),  # refused: sin(x)y is a function's value then y
    ("max(0, x − 2y) + sin(x)·y⁻¹", sympy.Max(0, X - 2 * Y) + sympy.sin(X) / Y),
    ("(x + 1)(y − 1)/x³", (X + 1) * (Y - 1) / X**3),
    ("e^(x y)", None),  # refused: x y
    ("e^(2x·y)", sympy.exp(2 * X * Y)),
]


@pytest.mark.parametrize(("typed", "meaning"), GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
@pytest.mark.parametrize("point", [{"x": 1.5, "y": 0.25}, {"x": 0.7, "y": 2.0}])
def test_gradients_of_student_expressions(typed: str, meaning: object,
                                          point: dict[str, float]) -> None:
    if meaning is None:
        with pytest.raises(ExpressionError, match="ambiguous|write"):
            parse(typed)
        return
    expr = parse(typed)
    leaves = {n: dg.tensor(point[n], requires_grad=True, dtype="float64")
              for n in expr.variables}
    out = expr.evaluate(leaves)
    out.backward()
    assert float(out.item()) == pytest.approx(
        float(meaning.subs({X: point["x"], Y: point["y"]})), rel=1e-12)

    def numeric(p: dict[str, float]) -> float:
        with np.errstate(all="raise"):
            return float(expr.evaluate({n: p[n] for n in expr.variables}, numpy_functions()))

    for name, symbol in (("x", X), ("y", Y)):
        if name not in expr.variables:
            continue
        exact = float(sympy.diff(meaning, symbol).subs({X: point["x"], Y: point["y"]}))
        got = float(leaves[name].grad.item())
        assert got == pytest.approx(exact, rel=1e-10, abs=1e-12), (typed, name)
        assert got == pytest.approx(finite_difference(numeric, point, name), rel=1e-6,
                                    abs=1e-7), (typed, name)


def test_variable_power_gradient_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    expr = parse("x^y")
    x = dg.tensor(1.5, requires_grad=True, dtype="float64")
    y = dg.tensor(2.5, requires_grad=True, dtype="float64")
    expr.evaluate({"x": x, "y": y}).backward()
    tx = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    (tx**ty).backward()
    assert x.grad.item() == pytest.approx(tx.grad.item(), rel=1e-12)
    assert y.grad.item() == pytest.approx(ty.grad.item(), rel=1e-12)
    assert y.grad.item() == pytest.approx(1.5**2.5 * math.log(1.5), rel=1e-12)


def test_graph_command_echoes_the_reading(capsys: pytest.CaptureFixture[str]) -> None:
    from dagrad.cli import main

    assert main(["graph", "2x^2 + e^x", "--at", "x=1", "--no-symbolic"]) == 0
    out = capsys.readouterr().out
    assert "read as: 2*x**2 + exp(x)\n" in out
    assert f"∂f/∂x = {4 + math.e:g}" in out  # d/dx (2x² + eˣ) = 4x + eˣ at x = 1
    assert main(["graph", "x^y", "--at", "x=1.5,y=2", "--no-symbolic"]) == 0
    out = capsys.readouterr().out
    assert "read as: x**y; x**y = exp(y*log(x)) is defined for x > 0" in out
    assert f"∂f/∂y = {1.5**2 * math.log(1.5):g}" in out
    assert main(["graph", "x*y", "--at", "x=1,y=2", "--no-symbolic"]) == 0
    assert "read as" not in capsys.readouterr().out  # nothing to echo


def test_graph_command_refuses_ambiguous_notation(capsys: pytest.CaptureFixture[str]) -> None:
    from dagrad.cli import main

    assert main(["graph", "2^3^x", "--at", "x=1"]) == 2
    assert "write 2^(3^x) or (2^3)^x" in capsys.readouterr().err


def test_vanishing_command_echoes_an_expression_activation(
        capsys: pytest.CaptureFixture[str]) -> None:
    from dagrad.cli import main

    assert main(["vanishing", "--activations", "x/(1+|x|)", "--depth", "3",
                 "--weights", "0.5"]) == 0
    assert "activation x/(1+|x|): read as: x/(1 + abs(x))" in capsys.readouterr().out


@pytest.mark.parametrize("typed", ["|" * 65 + "x" + "|" * 65, "√" * 65 + "x",
                                   "√(" * 40 + "x" + ")" * 40])
def test_bars_and_roots_count_towards_the_nesting_limit(typed: str) -> None:
    with pytest.raises(ExpressionError, match=r"nesting too deep \(limit 64; \|\.\.\.\| and √ "
                                              r"count as brackets\) at column 65"):
        parse(typed)
    assert parse("|" * 64 + "x" + "|" * 64).reading == "abs(" * 64 + "x" + ")" * 64
