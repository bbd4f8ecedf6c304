"""Tests for the safe expression parser (dagrad.expression)."""

from __future__ import annotations

import ast
import builtins
import math
import os
import re
import sys
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import dagrad
from conftest import fuzz_examples
from dagrad.expression import (
    FUNCTIONS,
    MAX_LENGTH,
    BinaryOp,
    Call,
    Constant,
    Expression,
    ExpressionError,
    Negate,
    Number,
    Power,
    Variable,
    numpy_functions,
    parse,
    parse_assignments,
    to_sympy,
)

ROSENBROCK = "100*(x2 - x1**2)**2 + (1 - x1)**2"
#: A guard against the parser doing the hostile work (9**9**9 has 369 million digits), not a
#: speed target: generous, so a loaded machine cannot make it fail (a parse takes milliseconds).
HANG = 5.0


def timed_parse(src: str) -> tuple[Expression | ExpressionError, float]:
    """Parse src; return the Expression or the ExpressionError, and the best of 3 timings."""
    best = math.inf
    result: Expression | ExpressionError
    for _ in range(3):
        start = time.perf_counter()
        try:
            result = parse(src)
        except ExpressionError as exc:
            result = exc
        best = min(best, time.perf_counter() - start)
    return result, best


# --------------------------------------------------------------------------- valid input


def test_rosenbrock_parses_and_evaluates() -> None:
    expr = parse(ROSENBROCK)
    assert isinstance(expr, Expression)
    assert expr.source == ROSENBROCK
    assert str(expr) == ROSENBROCK
    assert expr.variables == ("x1", "x2")
    x1, x2 = 1.5, 2.0
    expected = 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2
    assert expected == 6.5
    assert expr.evaluate({"x1": x1, "x2": x2}, numpy_functions()) == pytest.approx(6.5)
    # NumPy arrays in, arrays out
    a1, a2 = np.array([1.5, 1.0, -1.0]), np.array([2.0, 1.0, 2.0])
    got = expr.evaluate({"x1": a1, "x2": a2}, numpy_functions())
    np.testing.assert_allclose(got, 100 * (a2 - a1**2) ** 2 + (1 - a1) ** 2)
    np.testing.assert_allclose(got, [6.5, 0.0, 104.0])


def test_rosenbrock_tree() -> None:
    two = Number(2, "2")
    expected = BinaryOp(
        "+",
        BinaryOp(
            "*",
            Number(100, "100"),
            Power(BinaryOp("-", Variable("x2"), Power(Variable("x1"), two, 2)), two, 2),
        ),
        Power(BinaryOp("-", Number(1, "1"), Variable("x1")), two, 2),
    )
    assert parse(ROSENBROCK).tree == expected


def test_expression_is_immutable_and_hashable() -> None:
    expr = parse("x / (1 + abs(x))")
    with pytest.raises(AttributeError):
        expr.source = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        expr.tree.op = "*"  # type: ignore[union-attr]
    assert hash(expr) == hash(parse("x / (1 + abs(x))"))
    assert repr(expr) == "Expression('x / (1 + abs(x))')"


@pytest.mark.parametrize(
    ("src", "reference"),
    [
        ("-x**2", lambda x, y, z: -(x**2)),
        ("(-x)**2", lambda x, y, z: (-x) ** 2),
        ("-2**2", lambda x, y, z: -4),
        ("2**3**2", lambda x, y, z: 512),
        ("x - y - z", lambda x, y, z: (x - y) - z),
        ("x / y / z", lambda x, y, z: (x / y) / z),
        ("x - y * z", lambda x, y, z: x - (y * z)),
        ("x + y / z * x", lambda x, y, z: x + ((y / z) * x)),
        ("x * -y", lambda x, y, z: x * (-y)),
        ("--x", lambda x, y, z: x),
        ("+x - +y", lambda x, y, z: x - y),
        ("x**-1", lambda x, y, z: 1 / x),
        ("x**2*y", lambda x, y, z: (x**2) * y),
        ("2*x**3 - y", lambda x, y, z: 2 * x**3 - y),
        ("(x + y) * z", lambda x, y, z: (x + y) * z),
        ("x / (1 + abs(x))", lambda x, y, z: x / (1 + abs(x))),
        ("pi * e * x", lambda x, y, z: math.pi * math.e * x),
        ("exp(log(x))", lambda x, y, z: math.exp(math.log(x))),
        ("maximum(x - y, z)", lambda x, y, z: max(x - y, z)),
        ("leaky_relu(-x, 0.2) + leaky_relu(x)", lambda x, y, z: -0.2 * x + x),
        ("relu(-x) + relu(x) + square(y)", lambda x, y, z: x + y * y),
        ("sigmoid(0) * tanh(z) + sqrt(x)", lambda x, y, z: 0.5 * math.tanh(z) + math.sqrt(x)),
        ("x**(1/2)", lambda x, y, z: math.sqrt(x)),
        ("  x\t+ y ", lambda x, y, z: x + y),
        ("1_000 * x + 0x10", lambda x, y, z: 1000 * x + 16),
    ],
)
def test_precedence_and_values(src: str, reference: Any) -> None:
    x, y, z = 1.7, -0.4, 2.3
    expr = parse(src)
    env = {k: v for k, v in {"x": x, "y": y, "z": z}.items() if k in expr.variables}
    got = expr.evaluate(env, numpy_functions())
    assert float(got) == pytest.approx(reference(x, y, z), rel=1e-12)


def test_unary_minus_binds_looser_than_power() -> None:
    assert parse("-x**2").tree == Negate(Power(Variable("x"), Number(2, "2"), 2))
    assert parse("+x").tree == Variable("x")
    assert parse("pi").tree == Constant("pi")
    assert parse("pi").variables == ()
    assert parse("exp(x)").tree == Call("exp", (Variable("x"),))


def test_variables_natural_order_and_unique() -> None:
    assert parse("x10 + x2 * x1 + x2").variables == ("x1", "x2", "x10")
    assert parse("y*x + b + a").variables == ("a", "b", "x", "y")
    assert parse("2 * pi + e").variables == ()


class Recorder:
    """A value that records how Python operators were applied to it (like a Tensor would)."""

    def __init__(self, text: str, log: list[Any]) -> None:
        self.text, self.log = text, log

    def _wrap(self, text: str) -> Recorder:
        return Recorder(text, self.log)

    def __add__(self, other: Any) -> Recorder:
        return self._wrap(f"({self.text} + {other})")

    def __radd__(self, other: Any) -> Recorder:
        return self._wrap(f"({other} + {self.text})")

    def __sub__(self, other: Any) -> Recorder:
        return self._wrap(f"({self.text} - {other})")

    def __rsub__(self, other: Any) -> Recorder:
        return self._wrap(f"({other} - {self.text})")

    def __mul__(self, other: Any) -> Recorder:
        return self._wrap(f"({self.text} * {other})")

    def __rmul__(self, other: Any) -> Recorder:
        return self._wrap(f"({other} * {self.text})")

    def __truediv__(self, other: Any) -> Recorder:
        return self._wrap(f"({self.text} / {other})")

    def __rtruediv__(self, other: Any) -> Recorder:
        return self._wrap(f"({other} / {self.text})")

    def __pow__(self, exponent: Any) -> Recorder:
        self.log.append(exponent)
        return self._wrap(f"({self.text} ** {exponent!r})")

    def __neg__(self) -> Recorder:
        return self._wrap(f"(-{self.text})")

    def __str__(self) -> str:
        return self.text


@pytest.mark.parametrize(
    ("src", "exponent"),
    [
        ("x**2", 2),
        ("x**2.0", 2),
        ("x**-1", -1),
        ("x**(4/2)", 2),
        ("x**+3", 3),
        ("x**0.5", 0.5),
        ("x**(1/4)", 0.25),
        ("x**-1.5", -1.5),
        ("x**64", 64),
    ],
)
def test_integer_valued_exponent_is_passed_as_int(src: str, exponent: Any) -> None:
    log: list[Any] = []
    parse(src).evaluate({"x": Recorder("x", log)}, {})
    assert log == [exponent]
    assert type(log[0]) is type(exponent)


def test_evaluate_uses_python_operators_and_given_functions() -> None:
    log: list[Any] = []
    calls: list[tuple[str, int]] = []

    def fn(name: str) -> Any:
        def call(*args: Any) -> Recorder:
            calls.append((name, len(args)))
            return Recorder(f"{name}({', '.join(map(str, args))})", log)

        return call

    functions = {name: fn(name) for name in FUNCTIONS}
    expr = parse("100*(x2 - x1**2)**2 + leaky_relu(x1) - maximum(x2, 1) / -sqrt(x1)")
    out = expr.evaluate({"x1": Recorder("x1", log), "x2": Recorder("x2", log)}, functions)
    assert str(out) == (
        "(((100 * ((x2 - (x1 ** 2)) ** 2)) + leaky_relu(x1)) - (maximum(x2, 1) / (-sqrt(x1))))"
    )
    assert calls == [("leaky_relu", 1), ("maximum", 2), ("sqrt", 1)]


def test_leaky_relu_slope_is_passed_through() -> None:
    seen: list[tuple[Any, ...]] = []
    parse("leaky_relu(x, -0.25)").evaluate({"x": 1.0}, {"leaky_relu": lambda *a: seen.append(a)})
    assert seen == [(1.0, -0.25)]
    out = parse("leaky_relu(x, 0.1)").evaluate({"x": np.array([-2.0, 3.0])}, numpy_functions())
    np.testing.assert_allclose(out, [-0.2, 3.0])


def test_numpy_functions_values() -> None:
    fns = numpy_functions()
    assert set(fns) == set(FUNCTIONS)
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(fns["sigmoid"](x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(fns["relu"](x), [0, 0, 0, 0.5, 2])
    np.testing.assert_allclose(fns["leaky_relu"](x), [-0.02, -0.005, 0, 0.5, 2])
    np.testing.assert_allclose(fns["square"](x), x * x)
    np.testing.assert_allclose(fns["abs"](x), [2, 0.5, 0, 0.5, 2])
    np.testing.assert_allclose(fns["maximum"](x, 0.1), [0.1, 0.1, 0.1, 0.5, 2])


def test_missing_and_unknown_variables() -> None:
    expr = parse(ROSENBROCK)
    with pytest.raises(ExpressionError, match=r"missing value for variable 'x2'"):
        expr.evaluate({"x1": 1.0}, numpy_functions())
    with pytest.raises(ExpressionError, match=r"missing values for variables 'x1', 'x2'"):
        expr.evaluate({}, numpy_functions())
    with pytest.raises(
        ExpressionError, match=re.escape("unknown variable 'x3' (the expression uses x1, x2)")
    ):
        expr.evaluate({"x1": 1.0, "x2": 2.0, "x3": 0.0}, numpy_functions())
    assert expr.evaluate({"x1": 1.0, "x2": 2.0, "x3": 0.0}, numpy_functions(), strict=False) == 100


def test_function_missing_from_namespace() -> None:
    with pytest.raises(ExpressionError, match="no implementation for function 'tanh'"):
        parse("tanh(x)").evaluate({"x": 1.0}, {"exp": math.exp})


def test_no_eval_exec_or_code_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    """dagrad's parser and evaluator never call eval, exec or compile (beyond ast.parse).
    Other callers may, whichever test warmed their caches first: imports run module code
    through exec, and SymPy's lambdify (the closed forms: code SymPy prints from the op
    table's own expressions, never the user's string) execs what it prints."""
    real = {"eval": builtins.eval, "exec": builtins.exec, "compile": builtins.compile}
    package = os.path.dirname(dagrad.__file__) + os.sep

    def guarded(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_code.co_filename
            if not caller.startswith(package):
                return real[name](*args, **kwargs)
            if name == "compile":
                flags = args[3] if len(args) > 3 else kwargs.get("flags", 0)
                assert flags & ast.PyCF_ONLY_AST, f"compile from {caller}: only ASTs allowed"
                return real[name](*args, **kwargs)
            raise AssertionError(f"{name} called from {caller}: eval/exec must never be used")
        return call

    for name in real:
        monkeypatch.setattr(builtins, name, guarded(name))
    expr = parse(ROSENBROCK + " + sigmoid(x1) * leaky_relu(x2, 0.1) - pi")
    assert np.isfinite(expr.evaluate({"x1": 1.5, "x2": 2.0}, numpy_functions()))
    with pytest.raises(ExpressionError):
        parse("__import__('os').system('true')")


# --------------------------------------------------------------------------- refused input

MALICIOUS = [
    "().__class__.__bases__[0]",
    "().__class__.__bases__[0].__subclasses__()",
    "open('x')",
    "open('/etc/passwd').read()",
    "x.real",
    "x.__class__",
    "x[0]",
    "x[1:2]",
    "lambda: 1",
    "(lambda x: x)(1)",
    "[x for x in y]",
    "(x for x in y)",
    "{x: 1}",
    "{x}",
    "[x]",
    "(x, y)",
    "9**9**9",
    "10**10**10",
    "2**1000000",
    "2**2**2**2**2**2",
    "((10**12)**64)**64",
    "x**1e9",
    "x**65",
    "(-2)**x",
    "0**x",
    "'a'*10",
    '"a"',
    "x if y else z",
    "x < y",
    "x == y",
    "x and y",
    "not x",
    "~x",
    "x @ y",
    "x // y",
    "x % y",
    "x | y",
    "x & y",
    "x ^ y ^ z",
    "x << 2",
    "f(x)",
    "eval('1')",
    "exec('1')",
    "getattr(x, 'y')",
    "exp(x, y)",
    "exp()",
    "maximum(x)",
    "leaky_relu(x, 0.1, 2)",
    "leaky_relu(x, y)",
    "exp(x=1)",
    "exp(*a)",
    "exp(**a)",
    "(x := 1)",
    "1j",
    "b'x'",
    "f'{x}'",
    "exp(x)(y)",
    "exp",
    "x(1)",
    "__x",
    "_x",
    "__builtins__",
    "x__y",
    "a" * 33,
    "x" * 3000,
    "(" * 10000 + "x" + ")" * 10000,
    "(" * 100 + "x" + ")" * 100,
    "[" * 100 + "x" + "]" * 100,
    "(" * 999 + "x" + ")" * 999,
    "x" + "+x" * 600,
    "-" * 1999 + "x",
    "x" + "**x" * 600,
    "1e400",
    "1e13",
    "-1e400",
    "99999999999999999999",
    "",
    "   ",
    "\t",
    "x;y",
    "x; import os",
    "import os",
    "x = 1",
    "x\nimport os",
    "x\n",
    "x # comment",
    "x \\\n + 1",
    "x\x00",
    "\u0435xp(x)",  # Cyrillic 'е'
    "\uff45\uff58\uff50(x)",  # fullwidth 'exp', NFKC-normalised by Python
    "x/0",
    "x / (1 - 1)",
    "0**-1",
    "(-8)**(1/3)",
    "True",
    "None",
    "...",
    "yield x",
    "await x",
    "*x",
    "x,",
    "(",
    ")",
    "x)",
    "exp(x",
    "1 +",
    "$x",
    "x?",
    "`x`",
]


@pytest.mark.parametrize("src", MALICIOUS, ids=lambda s: repr(s[:40]))
def test_refused(src: str) -> None:
    result, seconds = timed_parse(src)
    assert isinstance(result, ExpressionError), f"accepted: {src[:60]!r}"
    assert isinstance(result, ValueError)
    assert str(result)
    assert seconds < HANG, f"took {seconds * 1000:.1f} ms"


def test_at_least_thirty_refusals() -> None:
    assert len(MALICIOUS) >= 30


def test_import_payload_has_no_side_effect(tmp_path: Any) -> None:
    target = tmp_path / "pwned"
    payloads = [
        f"__import__('os').system('touch {target}')",
        f"exp(__import__('os').system('touch {target}'))",
        f"open('{target}', 'w')",
        f"maximum(x, __import__('pathlib').Path('{target}').touch())",
    ]
    for src in payloads:
        with pytest.raises(ExpressionError):
            parse(src)
    assert not target.exists()


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("open('x')", "unknown function 'open' at column 1; known: abs, "),
        ("1 + foo(x)", "unknown function 'foo' at column 5"),
        ("x.__class__", "attribute access is not allowed ('x.__class__')"),
        ("9**9**9", "exponent too large: 9**9**9"),
        ("10**10**10", "exponent too large: 10**10**10"),
        ("2**1000000", "exponent too large: 2**1000000"),
        ("y + x**100", "exponent too large (limit 64) ('x**100') at column 5"),
        ("x" * 12000, "expression too long (12000 characters; limit 2000)"),
        ("(" * 65 + "x" + ")" * 65, "nesting too deep (limit 64) at column 65"),
        ("x" + "+x" * 600, "expression too large (1201 nodes; limit 500)"),
        ("x" + "+x" * 200, "expression nested too deeply"),
        ("exp(x, y)", "exp() takes 1 argument, got 2"),
        ("maximum(x)", "maximum() takes 2 arguments, got 1"),
        ("exp(x=1)", "keyword arguments are not allowed"),
        ("x % y", "operator '%' is not allowed; allowed: + - * / **"),
        ("x < y", "comparisons are not allowed"),
        ("1e400", "number out of range"),
        ("x / 0", "division by zero ('x / 0') at column 1"),
        ("exp", "function 'exp' used as a variable"),
        ("_x + 1", "name '_x' is not allowed at column 1"),
        ("(-2)**x", "a variable exponent needs a positive constant base"),
        ("x^y^z", "is ambiguous: write x^(y^z) or (x^y)^z"),
        ("1 + 'a'", "strings are not allowed"),
        ("x;y", "invalid syntax"),
        ("", "empty expression"),
        ("x\ny", "line breaks are not allowed (column 2)"),
        ("x + é", "character 'é' (U+00E9) is not allowed at column 5"),
        ("  x + foo(1)", "unknown function 'foo' at column 7"),
        ("\t x ! 2", "invalid syntax"),
    ],
)
def test_error_messages(src: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(src)
    assert message in str(info.value)


def test_limits_are_just_right() -> None:
    parse("(" * 64 + "x" + ")" * 64)
    parse("x" * 32)
    parse("x**64 + x**-64")
    parse("1e12 * x")
    parse("x + " * 120 + "x")
    parse("2**100")
    src = "x" + " " * (MAX_LENGTH - 1)
    assert parse(src).variables == ("x",)
    with pytest.raises(ExpressionError, match="too long"):
        parse(src + " ")


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse(42)  # type: ignore[arg-type]


def test_pathological_inputs_are_refused_quickly() -> None:
    cases = [
        "(" * 10000 + "x" + ")" * 10000,
        "(" * 999 + "x" + ")" * 999,
        "-" * 1999 + "x",
        "x" + "+x" * 999,
        "x" + "**x" * 666,
        "9**" * 666 + "9",
        "exp(" * 300 + "x" + ")" * 300,
        "1" * 2000,
    ]
    for src in cases:
        result, seconds = timed_parse(src)
        assert isinstance(result, ExpressionError), src[:40]
        assert seconds < HANG, f"{src[:20]!r}: {seconds * 1000:.1f} ms"


# --------------------------------------------------------------------------- fuzzing

TOKENS = [
    "x",
    "y",
    "x1",
    "x2",
    "a_b",
    "2",
    "0.5",
    "1e3",
    "9",
    "1e400",
    "10",
    "+",
    "-",
    "*",
    "/",
    "**",
    "(",
    ")",
    ",",
    " ",
    "exp",
    "log",
    "sqrt",
    "abs",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "maximum",
    "square",
    "pi",
    "e",
    ".",
    "__class__",
    "__import__",
    "[",
    "]",
    "'",
    '"',
    "lambda",
    ":",
    "=",
    "%",
    "//",
    "@",
    "<",
    "and",
    "if",
    "else",
    "j",
    "_",
    "\n",
    ";",
    "#",
    "{",
    "}",
    "~",
    "not",
    "0",
    "1j",
    "\\",
    "é",
    "9**9**9",
]

valid_variables = st.sampled_from(["x", "y", "z", "x1", "x10", "w_2"])


def check_parse_total(src: str) -> None:
    """parse(src) returns an Expression or raises ExpressionError, quickly; evaluation works."""
    start = time.perf_counter()
    try:
        expr = parse(src)
    except ExpressionError:
        expr = None
    assert time.perf_counter() - start < HANG
    if expr is not None:
        env = {name: np.array([0.5, -1.5, 2.0]) for name in expr.variables}
        with np.errstate(all="ignore"):
            expr.evaluate(env, numpy_functions())


@settings(max_examples=fuzz_examples(300), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_fuzz_arbitrary_text(src: str) -> None:
    check_parse_total(src)


@settings(max_examples=fuzz_examples(500), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_fuzz_token_soup(src: str) -> None:
    check_parse_total(src)


@settings(max_examples=fuzz_examples(200), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=100))
def test_fuzz_printable_ascii(src: str) -> None:
    check_parse_total(src)


# Generated valid expressions: a structure of tuples, printed with minimal (or full)
# parentheses, evaluated by a reference walker written here (never with eval).
NUMBERS = ["2", "3", "7", "0.5", "1.25", "2.5e-1", "10"]
EXPONENTS = ["2", "3", "-1", "0.5", "2.0", "(1/2)", "-2"]
# the functions with a hand-written reference below (the op table's further functions are
# checked against PyTorch in test_closed_forms.py)
CALLS = {name: FUNCTIONS[name][1] for name in ("exp", "log", "sqrt", "abs", "tanh", "sigmoid",
                                               "relu", "leaky_relu", "maximum", "square")}
PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def has_var(node: tuple) -> bool:
    kind = node[0]
    if kind == "var":
        return True
    if kind in ("num", "const"):
        return False
    if kind == "neg":
        return has_var(node[1])
    if kind == "bin":
        return has_var(node[2]) or has_var(node[3])
    if kind == "pow":
        return has_var(node[1])
    return any(has_var(arg) for arg in node[2])


def depth(node: tuple) -> int:
    kind = node[0]
    if kind in ("var", "num", "const"):
        return 1
    if kind == "neg":
        return 1 + depth(node[1])
    if kind == "bin":
        return 1 + max(depth(node[2]), depth(node[3]))
    if kind == "pow":
        return 3 + depth(node[1])
    return 2 + max(depth(arg) for arg in node[2])


def make_bin(op: str, left: tuple, right: tuple) -> tuple:
    if op == "/" and not has_var(right):  # a constant denominator might fold to zero
        right = ("bin", "+", right, ("var", "x"))
    return ("bin", op, left, right)


def make_pow(base: tuple, exponent: str) -> tuple:
    if not has_var(base):  # keep constant powers small
        base = ("bin", "*", base, ("var", "y"))
    return ("pow", base, exponent)


def make_call(name: str, args: list[tuple], slope: str) -> tuple:
    if name == "leaky_relu":
        return ("call", name, (args[0], ("num", slope)))
    return ("call", name, tuple(args[: CALLS[name]]))


leaves = st.one_of(
    valid_variables.map(lambda v: ("var", v)),
    st.sampled_from(NUMBERS).map(lambda t: ("num", t)),
    st.sampled_from(["pi", "e"]).map(lambda c: ("const", c)),
)


def extend(children: st.SearchStrategy[tuple]) -> st.SearchStrategy[tuple]:
    return st.one_of(
        children.map(lambda c: ("neg", c)),
        st.builds(make_bin, st.sampled_from(list(PREC)), children, children),
        st.builds(make_pow, children, st.sampled_from(EXPONENTS)),
        st.builds(
            make_call,
            st.sampled_from(sorted(CALLS)),
            st.lists(children, min_size=2, max_size=2),
            st.sampled_from(["0.1", "0.02", "-0.5"]),
        ),
    )


structures = st.recursive(leaves, extend, max_leaves=25)


def precedence(node: tuple) -> int:
    kind = node[0]
    if kind == "bin":
        return PREC[node[1]]
    if kind == "neg":
        return 3
    if kind == "pow":
        return 4
    return 5


def render(node: tuple, full: bool, sp: str) -> str:
    """Print node with minimal parentheses (full=False) or around every operation."""

    def wrap(child: tuple, needed: bool) -> str:
        text = render(child, full, sp)
        return f"({text})" if needed or (full and child[0] in ("bin", "neg", "pow")) else text

    kind = node[0]
    if kind in ("var", "const"):
        return node[1]
    if kind == "num":
        return node[1]
    if kind == "neg":
        return "-" + wrap(node[1], precedence(node[1]) < 3)
    if kind == "bin":
        op, left, right = node[1], node[2], node[3]
        p = PREC[op]
        left_text = wrap(left, precedence(left) < p)
        return f"{left_text}{sp}{op}{sp}{wrap(right, precedence(right) <= p)}"
    if kind == "pow":
        return f"{wrap(node[1], precedence(node[1]) <= 4)}**{node[2]}"
    args = f",{sp}".join(render(arg, full, sp) for arg in node[2])
    return f"{node[1]}({args})"


def number(text: str) -> int | float:
    return int(text) if text.isdigit() else float(text)


def exponent_value(text: str) -> int | float:
    value = {"(1/2)": 0.5}.get(text, None)
    value = float(text) if value is None else value
    return int(value) if value.is_integer() else value


REFERENCE_FUNCTIONS = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-np.asarray(x))),
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x, s: np.where(np.asarray(x) > 0, x, s * np.asarray(x)),
    "maximum": np.maximum,
    "square": lambda x: np.asarray(x) * np.asarray(x),
}


def reference(node: tuple, env: dict[str, Any]) -> Any:
    kind = node[0]
    if kind == "var":
        return env[node[1]]
    if kind == "num":
        return number(node[1])
    if kind == "const":
        return math.pi if node[1] == "pi" else math.e
    if kind == "neg":
        return -reference(node[1], env)
    if kind == "bin":
        a, b = reference(node[2], env), reference(node[3], env)
        if node[1] == "+":
            return a + b
        if node[1] == "-":
            return a - b
        return a * b if node[1] == "*" else a / b
    if kind == "pow":
        return reference(node[1], env) ** exponent_value(node[2])
    return REFERENCE_FUNCTIONS[node[1]](*(reference(arg, env) for arg in node[2]))


def variables_of(node: tuple) -> set[str]:
    kind = node[0]
    if kind == "var":
        return {node[1]}
    if kind in ("num", "const"):
        return set()
    if kind in ("neg", "pow"):
        return variables_of(node[1])
    if kind == "bin":
        return variables_of(node[2]) | variables_of(node[3])
    return set().union(*(variables_of(arg) for arg in node[2]))


@settings(max_examples=fuzz_examples(300), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    structures,
    st.booleans(),
    st.sampled_from(["", " "]),
    st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=3),
)
def test_generated_valid_expressions(node: tuple, full: bool, sp: str, values: list) -> None:
    assume(depth(node) < 100)
    src = render(node, full, sp)
    assume(len(src) <= MAX_LENGTH)
    expr = parse(src)
    names = variables_of(node)
    assert set(expr.variables) == names
    assert parse(expr.reading).tree == expr.tree  # the echoed reading reads back the same
    assert expr.canonical == src  # text in the canonical spelling is never rewritten
    env = {name: np.array(values) * (1 + i) for i, name in enumerate(sorted(names))}
    with np.errstate(all="ignore"):
        got = expr.evaluate(env, numpy_functions())
        want = reference(node, env)
    np.testing.assert_allclose(
        np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=1e-12, equal_nan=True
    )


# --------------------------------------------------------------------------- SymPy


def test_to_sympy_rosenbrock_gradient() -> None:
    sympy = pytest.importorskip("sympy")
    x1, x2 = sympy.symbols("x1 x2", real=True)
    f = to_sympy(parse(ROSENBROCK))
    assert sympy.simplify(f - (100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2)) == 0
    d1 = -400 * x1 * (x2 - x1**2) - 2 * (1 - x1)
    d2 = 200 * (x2 - x1**2)
    assert sympy.simplify(sympy.diff(f, x1) - d1) == 0
    assert sympy.simplify(sympy.diff(f, x2) - d2) == 0
    assert sympy.diff(f, x1).subs({x1: sympy.Rational(3, 2), x2: 2}) == 151  # the sheet's value
    assert f.subs({x1: sympy.Rational(3, 2), x2: 2}) == sympy.Rational(13, 2)


def test_to_sympy_functions() -> None:
    sympy = pytest.importorskip("sympy")
    x, y = sympy.symbols("x y", real=True)
    assert to_sympy(parse("sigmoid(x)")) == 1 / (1 + sympy.exp(-x))
    assert to_sympy(parse("relu(x)")) == sympy.Max(x, 0)
    assert to_sympy(parse("abs(x)")) == sympy.Abs(x)
    assert to_sympy(parse("x**0.5")) == sympy.sqrt(x)
    assert to_sympy(parse("x**(1/3)")) == x ** sympy.Rational(1, 3)
    assert to_sympy(parse("square(x) + maximum(x, y)")) == x**2 + sympy.Max(x, y)
    assert to_sympy(parse("pi * e")) == sympy.pi * sympy.E
    assert to_sympy(parse("0.1 * x")) == x / 10
    assert to_sympy(parse("tanh(x) + log(x) + sqrt(x) + exp(x)")) == (
        sympy.tanh(x) + sympy.log(x) + sympy.sqrt(x) + sympy.exp(x)
    )
    softsign = to_sympy(parse("x / (1 + abs(x))"))
    assert sympy.diff(softsign, x).subs(x, 2) == sympy.Rational(1, 9)
    assert sympy.diff(softsign, x).subs(x, -2) == sympy.Rational(1, 9)
    assert sympy.diff(to_sympy(parse("relu(x)")), x).subs(x, 3) == 1
    plain = {"x": sympy.Symbol("x")}
    assert to_sympy(parse("x"), plain) == plain["x"]
    assert to_sympy(parse("x")) != plain["x"]


@pytest.mark.parametrize(
    "src",
    [
        "sigmoid(x) * tanh(y)",
        "leaky_relu(x, 0.1) - leaky_relu(-y)",
        "x / (1 + abs(x))",
        "relu(x - y)**2 + maximum(x, y)",
        "exp(-square(x)) + sqrt(abs(y))",
    ],
)
def test_to_sympy_matches_numpy(src: str) -> None:
    sympy = pytest.importorskip("sympy")
    expr = parse(src)
    symbolic = to_sympy(expr)
    for x, y in [(0.7, -1.3), (-2.0, 0.4), (1.5, 2.5)]:
        env = {name: value for name, value in {"x": x, "y": y}.items() if name in expr.variables}
        numeric = float(expr.evaluate(env, numpy_functions()))
        subs = {sympy.Symbol(k, real=True): v for k, v in env.items()}
        assert float(symbolic.subs(subs).evalf()) == pytest.approx(numeric, rel=1e-12)


# --------------------------------------------------------------------------- assignments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x1=1.5,x2=2", {"x1": 1.5, "x2": 2.0}),
        ("x1=1.5;x2=2", {"x1": 1.5, "x2": 2.0}),
        ("x1=1.5 x2=2", {"x1": 1.5, "x2": 2.0}),
        (" x1 = 1.5 , x2 = -2e-3 ", {"x1": 1.5, "x2": -0.002}),
        ("x=.5; y=+3.", {"x": 0.5, "y": 3.0}),
        ("x=1,", {"x": 1.0}),
        ("", {}),
        ("   ", {}),
    ],
)
def test_parse_assignments(text: str, expected: dict[str, float]) -> None:
    got = parse_assignments(text)
    assert got == expected
    assert list(got) == list(expected)
    assert all(type(v) is float for v in got.values())


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x1", "'x1'"),
        ("x1=", "'x1='"),
        ("=1", "'=1'"),
        ("x1=abc", "'x1=abc'"),
        ("x1=1,x1=2", "duplicate assignment of 'x1'"),
        ("x1=inf", "not finite"),
        ("x1=-nan", "not finite"),
        ("x1=1e400", "not finite"),
        ("x1=1,,x2=2", "empty item"),
        ("pi=3", "'pi' is a constant"),
        ("exp=1", "'exp' is a function"),
        ("_x=1", "'_x=1'"),
        ("x__y=1", "'x__y=1'"),
        ("x1=1.5=2", "'x1=1.5=2'"),
        ("x1=(1)", "'x1=(1)'"),
        ("x1=1+1", "'x1=1+1'"),
        ("x1=__import__('os')", "x1=__import__('os')"),
        ("x1=0x10", "'x1=0x10'"),
        ("x1=1_0", "'x1=1_0'"),
        ("x1:1.5", "'x1:1.5'"),
    ],
)
def test_parse_assignments_refused(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_assignments(text)
    assert fragment in str(info.value)


def test_parse_assignments_feed_evaluate() -> None:
    expr = parse(ROSENBROCK)
    assert expr.evaluate(parse_assignments("x1=1.5, x2=2"), numpy_functions()) == 6.5


# --------------------------------------------------------------------------- dagrad itself


def test_default_functions_build_a_dagrad_graph() -> None:
    dg = pytest.importorskip("dagrad")
    needed = ("tensor", "exp", "log", "tanh", "sigmoid", "relu", "leaky_relu", "maximum")
    if not all(hasattr(dg, name) for name in needed):
        pytest.skip("dagrad's public API is not assembled yet")
    x1 = dg.tensor(1.5, requires_grad=True, dtype="float64")
    x2 = dg.tensor(2.0, requires_grad=True, dtype="float64")
    f = parse(ROSENBROCK).evaluate({"x1": x1, "x2": x2})
    f.backward()
    assert float(np.asarray(f.data)) == pytest.approx(6.5)
    assert float(np.asarray(x1.grad)) == pytest.approx(151.0)
    assert float(np.asarray(x2.grad)) == pytest.approx(-50.0)
    y = parse("x / (1 + abs(x)) + sigmoid(x) + leaky_relu(x, 0.1) + square(x)").evaluate({"x": x1})
    expected = 1.5 / 2.5 + 1 / (1 + math.exp(-1.5)) + 1.5 + 2.25
    assert float(np.asarray(y.data)) == pytest.approx(expected)
    if hasattr(x1, "op"):  # an integer-valued exponent reaches dagrad's integer power op
        integer_power = (x1**2).op
        assert parse("x**2.0").evaluate({"x": x1}).op == integer_power
        square = "square" if "square" in dg.ops.OPS else integer_power  # a table op now
        assert parse("square(x)").evaluate({"x": x1}).op == square


def test_functions_come_from_the_op_table() -> None:
    from dagrad.catalogue import named_functions

    for name, spec in named_functions().items():
        assert FUNCTIONS[name] == (spec.min_args, spec.max_args)
    assert parse("ln(x)").tree == Call("log", (Variable("x"),))
    with pytest.raises(ExpressionError, match="used as a variable"):
        parse("ln + 1")
    with pytest.raises(ExpressionError, match="the slope of leaky_relu must be a constant"):
        parse("leaky_relu(x, y)")
    if "clamp" in FUNCTIONS:
        with pytest.raises(ExpressionError, match=r"clamp\(\) takes 1 to 3 arguments"):
            parse("clamp(x, 0, 1, 2)")
        with pytest.raises(ExpressionError, match="the max of clamp must be a constant"):
            parse("clamp(x, 0, y)")
