"""dg.check.gradient: the verdict on a hand-derived ∂f/∂x and where the mistake is on the DAG.

The right answers are SymPy's; the witness values are compared with PyTorch's autograd at the
witness point and the answer evaluated by Python's math module — never dagrad on both sides.
"""

from __future__ import annotations

import math

import pytest

import dagrad as dg

torch = pytest.importorskip("torch")
pytest.importorskip("sympy")

ROSENBROCK = "100*(x2 - x1**2)**2 + (1 - x1)**2"


def _torch_grad(point: dict[str, float], f, wrt: str) -> float:
    xs = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in point.items()}
    f(**xs).backward()
    return float(xs[wrt].grad)


def test_the_issue_example_is_located_on_its_path_with_both_factor_2_edges():
    r = dg.check.gradient(ROSENBROCK, "x1", "-200*x1*(x2 - x1**2) - 2*(1 - x1)")
    assert r.verdict == "wrong" and not r.ok
    text = "\n".join(r.diagnosis)
    assert "the path x1 → v1 → v2 → v3 → v4 → f contributes −400·x1·(x2 − x1²)" in text
    assert "your answer has −200·x1·(x2 − x1²): off by a factor 2" in text
    assert "x1 → v1 (∂v1/∂x1 = 2·x1)" in text and "v2 → v3 (∂v3/∂v2 = 2·v2)" in text
    assert "v3 → v4 (" not in text  # 100 carries a factor 2 but is not the factor 2 of a power
    # the point where they differ, both values checked independently
    p = r.point
    right = _torch_grad(p, lambda x1, x2: 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2, "x1")
    yours = -200 * p["x1"] * (p["x2"] - p["x1"] ** 2) - 2 * (1 - p["x1"])
    assert r.values["right"] == pytest.approx(right, rel=1e-12)
    assert r.values["yours"] == pytest.approx(yours, rel=1e-12)
    assert r.values["yours"] != pytest.approx(r.values["right"])
    # the table: one path wrong, the other present
    rows = r.tables[0].rows
    assert [row[2][0] for row in rows] == ["✗", "✓"]


def test_the_right_answer_is_right_symbolically():
    r = dg.check.gradient(ROSENBROCK, "x1", "-400*x1*(x2 - x1**2) - 2*(1 - x1)")
    assert r.ok and "symbolically" in r.how
    r2 = dg.check.gradient(ROSENBROCK, "x2", "200*(x2 - x1**2)")
    assert r2.ok


def test_an_equivalent_form_needing_simplify_or_numbers_is_right():
    r = dg.check.gradient("sin(x)**2", "x", "sin(2*x)")  # 2 sin cos = sin 2x
    assert r.ok, r.diagnosis


@pytest.mark.parametrize("expr, wrt, answer, words", [
    (ROSENBROCK, "x1", "-400*x1*(x2 - x1**2)",
     ["the path x1 → v5 → v6 → f", "has no term for it", "missing path"]),
    (ROSENBROCK, "x1", "400*x1*(x2 - x1**2) - 2*(1 - x1)",
     ["the sign is wrong", "v1 → v2 (∂v2/∂v1 = −1)"]),
    ("sin(x**2)", "x", "cos(x**2)",
     ["the path x → v1 → f", "exactly the local derivative of x → v1 (∂v1/∂x = 2·x)",
      "missing inner derivative"]),
    ("x1*x2 + x2", "x1", "x2 + 1",
     ["your term 1 matches no path from x1 to f", "starts at x2, not at x1"]),
    ("x**3 + x", "x", "3*x**3 + 1",
     ["contributes 3·x²", "your answer has 3·x³", "the factor x", "x → v1 (∂v1/∂x = 3·x²)"]),
    ("x*x", "x", "x", ["x → f (2 times", "off by a factor 2"]),
    ("exp(x)*sin(x)", "x", "exp(x)*cos(x)", ["exp(x)·sin(x)", "has no term for it"]),
    ("x", "x", "0", ["the path x contributes 1", "has no term for it"]),
    ("tanh(3*x)", "x", "1 - tanh(3*x)**2",
     ["off by a factor 3", "(∂v1/∂x = 3)"]),
])
def test_each_kind_of_mistake_is_named(expr, wrt, answer, words):
    r = dg.check.gradient(expr, wrt, answer)
    assert r.verdict == "wrong"
    text = "\n".join(r.diagnosis)
    for w in words:
        assert w in text, (w, text)


def test_witness_values_of_a_transcendental_function_match_torch():
    r = dg.check.gradient("exp(x)*sin(x)", "x", "exp(x)*cos(x)")
    x = r.point["x"]
    assert r.values["right"] == pytest.approx(
        _torch_grad({"x": x}, lambda x: torch.exp(x) * torch.sin(x), "x"), rel=1e-12)
    assert r.values["yours"] == pytest.approx(math.exp(x) * math.cos(x), rel=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(expression="x1*x2", wrt="y", answer="x2"), "--wrt 'y'"),
    (dict(expression="x1*x2", wrt="x1", answer="x3"), "the answer uses x3"),
    (dict(expression="x1*", wrt="x1", answer="1"), "the expression 'x1*'"),
    (dict(expression="x1*x2", wrt="x1", answer="__import__('os')"), "the answer"),
])
def test_bad_input_is_refused_with_what_was_wrong(kwargs, message):
    with pytest.raises(ValueError, match=None) as e:
        dg.check.gradient(**kwargs)
    assert message in str(e.value)


def test_the_report_renders_in_every_form():
    r = dg.check.gradient(ROSENBROCK, "x1", "-200*x1*(x2 - x1**2) - 2*(1 - x1)")
    md, html, tex, text = r.to_markdown(), r._repr_html_(), r.to_latex(), str(r)
    assert "off by a factor 2" in md and "off by a factor 2" in html and "off by a factor 2" in text
    assert "\\begin{document}" in tex and "<script" not in html
    assert "WRONG" in text and all(ord(c) < 128 for c in "\n".join(r.lines(unicode=False)))


def test_without_time_for_sympy_the_verdict_is_said_to_be_numerical(monkeypatch):
    monkeypatch.setenv("DAGRAD_SYMBOLIC_SECONDS", "0.000001")
    r = dg.check.gradient("sin(x)**2", "x", "sin(2*x)")
    assert r.ok and r.how.startswith("decided numerically at 20 random points")


def test_the_derivative_with_respect_to_the_other_variable_is_named():
    r = dg.check.gradient(ROSENBROCK, "x1", "200*(x2 - x1**2)")
    assert not r.ok and r.diagnosis[0] == "your answer is ∂f/∂x2, not ∂f/∂x1"


def test_an_answer_undefined_where_the_derivative_is_defined_is_wrong():
    r = dg.check.gradient("x**2", "x", "sqrt(-x**2 - 1)")
    assert not r.ok and "not a real number" in r.how
    assert math.isnan(r.values["yours"]) and r.values["right"] == pytest.approx(2 * r.point["x"])


def test_a_function_undefined_at_every_point_tried_still_has_its_dag():
    assert dg.check.gradient("log(x - 10)", "x", "1/(x - 10)").ok
    r = dg.check.gradient("log(x - 10)", "x", "1/(x + 10)")
    assert not r.ok and "v1 → f (∂f/∂v1 = 1/v1)" in r.diagnosis[0]
