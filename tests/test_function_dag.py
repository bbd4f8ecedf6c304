"""Exercise (b)'s explainer: dg.explain.dag_gradient and dg.explain.rosenbrock."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg


@pytest.fixture(scope="module")
def report():
    return dg.explain.rosenbrock(1.5, 2.0)


def test_rosenbrock_gradient_and_checks(report):
    assert report.value == pytest.approx(6.5)
    assert report.gradient == pytest.approx({"x1": 151.0, "x2": -50.0})
    assert report.ok and [c.name for c in report.checks] == [
        "∇f at the point", "formulas at the point", "∇f as a formula"]


def test_every_edge_that_carries_a_gradient_is_listed(report):
    rows = report.edge_rows()
    assert ("x1 → v1", "∂v1/∂x1", "2*x1", "3") in rows
    assert all(not r[0].startswith("c") for r in rows)  # constants carry no gradient
    assert len(rows) == 9


def test_a_wrong_hand_gradient_fails_its_check():
    x = dg.tensor(0.5, dtype="float64", requires_grad=True, name="x")
    g = dg.graph(x * x + dg.tanh(x))
    good = dg.explain.dag_gradient(g, expected={"x": 2 * 0.5 + 1 - np.tanh(0.5) ** 2},
                                   expected_formulas={"x": "2*x + 1 - tanh(x)**2"})
    assert good.ok and len(good.checks) == 3
    bad = dg.explain.dag_gradient(g, expected={"x": 2.0}, expected_formulas={"x": "2*x"})
    assert not bad.ok
    assert [c.ok for c in bad.checks] == [False, True, False]


def test_unknown_expected_name_is_refused():
    x = dg.tensor(1.0, dtype="float64", requires_grad=True, name="x")
    with pytest.raises(ValueError, match="y"):
        dg.explain.dag_gradient(dg.graph(x * x), expected={"y": 2.0})


def test_without_symbolic_there_are_no_formulas():
    r = dg.explain.rosenbrock(-1.0, 0.5, symbolic=False)
    assert r.formulas == {} and [c.name for c in r.checks] == ["∇f at the point"] and r.ok
    assert "Symbolic gradient" not in "\n".join(r.lines())


def test_renderings(report):
    text = str(report)
    assert text.startswith("Rosenbrock") and "checks: 3 of 3 pass" in text
    md = report.to_markdown(dag_path="dag.svg")
    assert "![the DAG](dag.svg)" in md and "| x1 → v1 | ∂v1/∂x1 | 2*x1 | 3 |" in md
    tex = report.to_latex()
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert tex.count(r"\begin{") == tex.count(r"\end{") and "→" not in tex
    page = report._repr_html_()
    assert page.startswith("<div") and "<script" not in page and "∂f/∂x2" in page
    assert report.lines(unicode=False)[1] == "gradient: df/dx1 = 151, df/dx2 = -50"


def test_dag_dot_folds_constants(report):
    assert report.dag_dot().startswith("digraph") and ">100<" not in report.dag_dot()
