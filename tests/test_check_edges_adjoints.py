"""dg.check.edges and dg.check.adjoints on the Rosenbrock DAG (node names as dagrad graph draws
them): right and wrong answers; the right adjoints come from SymPy and are compared here with
PyTorch's (retain_grad on every intermediate), never with dagrad's backprop alone."""

from __future__ import annotations

import re

import pytest

import dagrad as dg

torch = pytest.importorskip("torch")
pytest.importorskip("sympy")

ROSENBROCK = "100*(x2 - x1**2)**2 + (1 - x1)**2"
AT = "x1=1.5,x2=2"


def _torch_adjoints(x1: float, x2: float) -> dict[str, float]:
    """The Rosenbrock DAG's adjoints by PyTorch, node by node as dagrad graph names them."""
    t1 = torch.tensor(x1, dtype=torch.float64, requires_grad=True)
    t2 = torch.tensor(x2, dtype=torch.float64, requires_grad=True)
    v1 = t1**2
    v2 = t2 - v1
    v3 = v2**2
    v4 = 100 * v3
    v5 = 1 - t1
    v6 = v5**2
    f = v4 + v6
    nodes = dict(v1=v1, v2=v2, v3=v3, v4=v4, v5=v5, v6=v6, f=f)
    for v in nodes.values():
        v.retain_grad()
    f.backward()
    out = {k: float(v.grad) for k, v in nodes.items()}
    out.update(x1=float(t1.grad), x2=float(t2.grad))
    return out


def test_right_edges_in_node_names_or_in_the_inputs_are_right():
    r = dg.check.edges(ROSENBROCK, ["v2->v3=2*v2", "x1 -> v1 = 2*x1", "v1→v2=-1",
                                    "v3->v4=100", "v2->v3=2*(x2 - x1**2)"], at=AT)
    assert r.ok, r.diagnosis
    assert [row[3] for row in r.tables[0].rows] == ["✓ right"] * 5


def test_wrong_edges_are_marked_with_the_right_derivative_and_the_slip():
    r = dg.check.edges(ROSENBROCK, ["x1->v1=x1", "v1->v2=1", "v2->v3=2*v2"], at=AT)
    assert not r.ok and r.data["wrong"] == ["x1->v1", "v1->v2"]
    text = "\n".join(r.diagnosis)
    assert "∂v1/∂x1 = 2·x1, not x1" in text and "off by a factor 2" in text
    assert "∂v2/∂v1 = −1, not 1" in text and "the sign is wrong" in text
    rows = {row[0]: row for row in r.tables[0].rows}
    assert rows["x1 → v1"][5] == "3" and rows["x1 → v1"][4] == "1.5"  # 2·x1 and x1 at 1.5


def test_an_input_used_twice_has_one_derivative_for_both_uses():
    r = dg.check.edges("x*x", ["x->f=x"], at="x=3")
    assert not r.ok and "uses x 2 times" in r.diagnosis[0]
    assert dg.check.edges("x*x", ["x->f=2*x"], at="x=3").ok


@pytest.mark.parametrize("edge, message", [
    ("v2->v9=1", "no node 'v9'"), ("v2->f=1", "has no such edge"), ("v2=1", "SOURCE->TARGET"),
    ("v2->v3=2*q", "uses q"), ("c1->v4=1", "is a constant"),
])
def test_bad_edges_are_refused(edge, message):
    with pytest.raises(ValueError) as e:
        dg.check.edges(ROSENBROCK, [edge], at=AT)
    assert message in str(e.value)


def test_right_adjoints_agree_with_pytorch():
    truth = _torch_adjoints(1.5, 2.0)
    items = [f"{k}={v:g}" for k, v in truth.items()]
    r = dg.check.adjoints(ROSENBROCK, items, at=AT)
    assert r.ok, r.diagnosis
    assert r.data["truths"]["x1"] == pytest.approx(truth["x1"], rel=1e-12)
    assert all(r.data["truths"][k] == pytest.approx(v, rel=1e-12) for k, v in truth.items())


def test_the_first_wrong_adjoint_in_backward_order_is_explained():
    truth = _torch_adjoints(1.5, 2.0)
    r = dg.check.adjoints(ROSENBROCK, ["x1=150", "v1=50", "v3=100", "x2=50"], at=AT)
    assert not r.ok
    # backward order: v3, v1, x2, x1 — x2 comes first among the wrong ones
    assert r.data["wrong"] == ["x2", "x1"]
    text = "\n".join(r.diagnosis)
    assert f"x̄2 = 50; it should be {truth['x2']:g}" in text
    assert "opposite sign" in text
    r2 = dg.check.adjoints(ROSENBROCK, ["x1=150"], at=AT)
    text2 = "\n".join(r2.diagnosis)
    assert f"it should be {truth['x1']:g}" in text2
    assert "x̄1 = v̄1·∂v1/∂x1 + v̄5·∂v5/∂x1 = (50)·(3) + (-1)·(-1) = 151" in text2
    assert "the sum without v̄5·∂v5/∂x1" in text2


def test_rounded_and_fraction_adjoints_are_accepted():
    r = dg.check.adjoints("x1/x2", ["x1=0.333", "x2=-1/9"], at="x1=1,x2=3")
    assert r.ok, r.tables[0].rows
    assert "rounded to 3 digits" in r.tables[0].rows[-1][3]
    assert not dg.check.adjoints("x1/x2", ["x1=0.3"], at="x1=1,x2=3").ok  # 1 digit: too rough


@pytest.mark.parametrize("items, at, message", [
    (["v9=1"], AT, "no node 'v9'"), (["c1=1"], AT, "constant"),
    (["v2=abc"], AT, "must be a number"),
    (["v2"], AT, "NODE=NUMBER"), (["v2=1"], "", "--at"), (["v2=1"], "x1=1", "missing x2"),
])
def test_bad_adjoints_are_refused(items, at, message):
    with pytest.raises(ValueError) as e:
        dg.check.adjoints(ROSENBROCK, items, at=at)
    assert message in str(e.value)


def test_the_node_names_are_those_dagrad_graph_draws(capsys):
    from dagrad.cli import main

    assert main(["graph", ROSENBROCK, "--at", AT, "--no-symbolic"]) == 0
    drawn = capsys.readouterr().out
    g = dg.check.edges(ROSENBROCK, ["v2->v3=2*v2"], at=AT).data["graph"]
    edges = [e for e in g.edges if e.differentiable and not e.constant]
    assert len(edges) == 9
    for e in edges:
        assert re.search(rf"{e.source} → {e.target} +∂{e.target}/∂{e.source} ", drawn), e


def test_edges_in_student_notation_are_read_and_echoed():
    r = dg.check.edges(ROSENBROCK, ["x1->v1=2x1", "v2->v3=2·v2"], at=AT)
    assert r.ok
    assert r.read_as == ["x1->v1: 2*x1", "v2->v3: 2*v2"]
