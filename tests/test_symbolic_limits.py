"""Symbolic work is bounded (issue 16, section 4): depth and size checked before SymPy starts,
time and memory enforced on a child process, the unsimplified chain rule when simplifying runs
over, and a clear error (never a raw RecursionError) where no formula can be given.

Values of the formulas are checked against backprop at the recorded point and against SymPy's
own differentiation of the same expression.  Long work runs in subprocesses with a generous
timeout, so a regression fails instead of hanging; no test asserts a duration.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import dagrad as dg
from dagrad.dag import isolate
from dagrad.dag import symbolic as sy
from dagrad.dag.limit import (
    DEPTH,
    GRAPH,
    SECONDS,
    GraphTooLargeError,
    SymbolicLimitError,
    SymbolicLimitWarning,
)

sympy = pytest.importorskip("sympy")
GUARD = 300  # seconds: a subprocess still running then is a hang, and fails the test


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch):
    for var in ("DAGRAD_MAX_SYMBOLIC_DEPTH", "DAGRAD_MAX_SYMBOLIC_SIZE", "DAGRAD_SYMBOLIC_SECONDS",
                "DAGRAD_SYMBOLIC_MEMORY", "DAGRAD_SYMBOLIC_ISOLATE", "DAGRAD_MAX_GRAPH_NODES",
                "DAGRAD_MAX_DRAW_NODES"):
        monkeypatch.delenv(var, raising=False)


def _leaf(name, value=0.5):
    return dg.tensor(value, requires_grad=True, dtype="float64", name=name)


def _chain(n, step, name="x"):
    x = _leaf(name)
    y = x
    for _ in range(n):
        y = step(y)
    return dg.graph(y)


def _run(code, env=None, timeout=GUARD):
    full = dict(os.environ, OPENBLAS_NUM_THREADS="1", **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=full)


def _value(expr, g):
    point = {s: float(np.asarray(g[s.name].value)) for s in expr.free_symbols}
    return float(expr.xreplace(point).evalf())


# ----- ordinary formulas are simplified exactly as before --------------------------------------
def test_rosenbrock_is_simplified_exactly_as_before(monkeypatch):
    monkeypatch.setenv("DAGRAD_SYMBOLIC_SECONDS", "60")  # exactness, not speed, is tested here
    x1, x2 = _leaf("x1", 1.5), _leaf("x2", 2.0)
    g = dg.trace(lambda x1, x2: 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2, x1, x2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SymbolicLimitWarning)
        d1, d2 = g.gradient_formula("x1"), g.gradient_formula("x2")
    # the forms (and SymPy trees) today's main printed before the limits existed
    assert str(d1) == "-400*x1*(-x1**2 + x2) + 2*x1 - 2"
    assert str(d2) == "200*(-x1**2 + x2)"
    assert sympy.srepr(d2) == ("Mul(Integer(200), Add(Mul(Integer(-1), Pow(Symbol('x1', "
                               "real=True), Integer(2))), Symbol('x2', real=True)))")
    assert g.simplification_note("x1") is None and g.simplification_note("x2") is None
    a, b = sympy.symbols("x1 x2", real=True)
    f = 100 * (b - a**2) ** 2 + (1 - a) ** 2
    assert sympy.expand(d1 - sympy.diff(f, a)) == 0 and sympy.expand(d2 - sympy.diff(f, b)) == 0
    assert str(g.forward_formula()) == "(1 - x1)**2 + 100*(-x1**2 + x2)**2"


# ----- hostile expressions finish and say they were not simplified -----------------------------
def test_power_of_a_sum_finishes_unsimplified_and_says_so():
    """`dagrad graph "(a+b+c+d+f+g+h)**64"` ran past 90 s and 2.4 GB inside factor."""
    run = _run("""
        import sys
        from dagrad.cli import main
        sys.exit(main(["graph", "(a+b+c+d+f+g+h)**64", "--at",
                       "a=1,b=1,c=1,d=1,f=1,g=1,h=1"]))
    """)
    assert run.returncode == 0, run.stderr
    assert "64*(a + b + c + d + f + g + h)**63" in run.stdout
    assert "the formulas at this point equal backprop" in run.stdout
    assert "some not simplified" in run.stdout  # the header says so, and then why, once each
    assert run.stdout.count("not simplified: factoring would expand") == 7  # one per variable
    assert "power of a sum of 7 terms to the power 63" in run.stdout
    assert "Warning" not in run.stderr  # one clean line per variable, no Python warnings


def test_product_of_forty_tanh_finishes_within_the_graph_budget():
    """40 leaves × SymPy's simplify: the graph's time for simplifying runs out, then raw forms."""
    run = _run("""
        import warnings
        import numpy as np
        import sympy
        import dagrad as dg
        xs = [dg.tensor(0.1 * (k + 1), requires_grad=True, dtype="float64", name=f"x{k}")
              for k in range(40)]
        f = xs[0].tanh()
        for x in xs[1:]:
            f = f * x.tanh()
        g = dg.graph(f)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            forms = [g.gradient_formula(x.name) for x in xs]
        notes = [g.simplification_note(x.name) for x in xs]
        point = {sympy.Symbol(x.name, real=True): float(x.data) for x in xs}
        for x, form in zip(xs, forms):
            got = float(form.xreplace(point).evalf())
            assert np.isclose(got, float(g[x.name].grad), rtol=1e-12), (x.name, got)
        assert sum(n is not None for n in notes) == len(caught) > 0
        assert all(n.startswith("not simplified:") for n in notes if n)
        print(sorted({n for n in notes if n}))  # whole notes: the budget's ends "are used up"
    """, env={"DAGRAD_SYMBOLIC_SECONDS": "1"})
    assert run.returncode == 0, run.stderr
    assert "exceeded the time limit" in run.stdout or "are used up" in run.stdout


def test_simplification_that_never_ends_is_stopped():
    """A simplifier stuck in a loop is killed at the deadline; the chain-rule form comes back."""
    run = _run("""
        import warnings
        import dagrad as dg
        from dagrad.dag import symbolic

        def stuck(expr):
            while True:
                pass

        symbolic.simplest = stuck
        x = dg.tensor(0.3, requires_grad=True, dtype="float64", name="x")
        g = dg.graph(dg.tanh(x) * x)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            form = g.gradient_formula("x")
        print(form)
        print(g.simplification_note("x"))
        print(caught[0].category.__name__, caught[0].message)
    """, env={"DAGRAD_SYMBOLIC_SECONDS": "1"})
    assert run.returncode == 0, run.stderr
    form, note, warning = run.stdout.strip().splitlines()
    x = sympy.Symbol("x", real=True)
    assert sympy.simplify(sympy.sympify(form, locals={"x": x}) - sympy.diff(sympy.tanh(x) * x, x)) \
        == 0
    assert note == "not simplified: simplifying exceeded the time limit of 1 s " \
                   "(DAGRAD_SYMBOLIC_SECONDS)"
    assert warning.startswith("SymbolicLimitWarning ∂f/∂x not simplified")


def test_simplification_over_the_memory_limit_is_stopped():
    run = _run("""
        import dagrad as dg
        from dagrad.dag import symbolic

        def greedy(expr):
            block = bytearray(512 * 2**20)  # 512 MiB, above the 64 MiB allowed
            return expr

        symbolic.simplest = greedy
        x = dg.tensor(0.3, requires_grad=True, dtype="float64", name="x")
        g = dg.graph(dg.exp(x) * x)
        g.gradient_formula("x")
        print(g.simplification_note("x"))
    """, env={"DAGRAD_SYMBOLIC_MEMORY": str(64 * 2**20), "PYTHONWARNINGS": "ignore"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ("not simplified: simplifying exceeded the memory limit of "
                                  "64 MiB (DAGRAD_SYMBOLIC_MEMORY)")


def test_simplify_false_gives_the_chain_rule_without_a_note():
    x = _leaf("x", 0.7)
    g = dg.graph(dg.tanh(x) * x)
    raw = g.gradient_formula("x", simplify=False)
    assert g.simplification_note("x") is None
    assert np.isclose(_value(raw, g), float(g["x"].grad), rtol=1e-13)


# ----- deep or large graphs get a clear, early answer ------------------------------------------
def test_deep_graph_is_refused_before_sympy_starts():
    """At depth 150 gradient_formula raised SymPy's RecursionError (sigmoid, after seconds)."""
    g = _chain(150, dg.sigmoid)
    assert g.depth == 150 and DEPTH.default == 50
    for call in (lambda: g.gradient_formula("x"), g.forward_formula):
        with pytest.raises(SymbolicLimitError) as info:
            call()
        msg = str(info.value)
        assert "150 ops deep" in msg and "limit of 50" in msg
        assert "max_depth=150" in msg and "DAGRAD_MAX_SYMBOLIC_DEPTH=150" in msg
        assert isinstance(info.value, ValueError)


def test_depth_limit_can_be_raised(monkeypatch):
    monkeypatch.setenv("DAGRAD_SYMBOLIC_SECONDS", "60")
    g = _chain(60, dg.tanh)
    with pytest.raises(SymbolicLimitError, match="60 ops deep"):
        g.gradient_formula("x", simplify=False)
    raw = g.gradient_formula("x", simplify=False, max_depth=60)
    assert np.isclose(_value(raw, g), float(g["x"].grad), rtol=1e-12)
    monkeypatch.setenv("DAGRAD_MAX_SYMBOLIC_DEPTH", "60")
    assert g.forward_formula() is not None


@pytest.mark.parametrize("isolated", ["1", "0"])
def test_recursion_error_becomes_the_same_clear_error(monkeypatch, isolated):
    """Past a raised limit SymPy may still run out of recursion: never a raw RecursionError."""
    monkeypatch.setenv("DAGRAD_SYMBOLIC_ISOLATE", isolated)
    monkeypatch.setenv("DAGRAD_SYMBOLIC_SECONDS", "120")
    g = _chain(150, dg.sigmoid)
    with pytest.raises(SymbolicLimitError, match="recursion depth") as info:
        g.gradient_formula("x", max_depth=1000)
    assert not isinstance(info.value, RecursionError)
    assert "150 ops deep" in str(info.value)


def test_formula_too_large_to_write_out_is_refused():
    """Reused subexpressions double a formula's size at every level (y → tanh(y) + exp(y/100)).

    In a subprocess: without the limits, building these formulas takes hours.
    """
    run = _run("""
        import warnings
        import numpy as np
        import dagrad as dg
        from dagrad.dag.limit import SymbolicLimitError

        def fan(n):
            y = x = dg.tensor(0.5, requires_grad=True, dtype="float64", name="x")
            for _ in range(n):
                y = dg.tanh(y) + dg.exp(y * 0.01)
            return dg.graph(y)

        for n in (16, 8):  # f alone is too large; f fits but ∂f/∂x does not
            try:
                fan(n).gradient_formula("x")
            except SymbolicLimitError as e:
                print(e)
        g = fan(4)
        warnings.simplefilter("ignore")
        form = g.gradient_formula("x")
        point = {s: float(g[s.name].value) for s in form.free_symbols}
        print(np.isclose(float(form.xreplace(point).evalf()), float(g["x"].grad), rtol=1e-12))
    """)
    assert run.returncode == 0, run.stderr
    big, bigger, ok = run.stdout.strip().splitlines()
    assert "f written out in the inputs would have more than 20,000 terms" in big
    assert "DAGRAD_MAX_SYMBOLIC_SIZE" in big
    assert "the chain-rule formula written out would have more than 20,000 terms" in bigger
    assert ok == "True"


def test_building_that_runs_over_the_time_limit_is_stopped():
    """Building the unsimplified formula itself is bounded too (a clear error, not a hang)."""
    run = _run("""
        import time
        import dagrad as dg
        from dagrad.dag import symbolic

        real = symbolic.forward_exprs

        def slow(graph):
            time.sleep(120)
            return real(graph)

        symbolic.forward_exprs = slow
        x = dg.tensor(0.5, requires_grad=True, dtype="float64", name="x")
        g = dg.graph(dg.tanh(x))
        try:
            g.gradient_formula("x")
        except ValueError as e:
            print(type(e).__name__, e)
    """, env={"DAGRAD_SYMBOLIC_SECONDS": "0.5"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("SymbolicLimitError ∂f/∂x: building the formula exceeded the "
                                 "time limit of 0.5 s")


def test_errors_of_the_work_reach_the_caller(monkeypatch):
    def broken(graph):
        raise ValueError("symbolic derivation: op 'frob' has no symbolic form")

    monkeypatch.setattr(sy, "forward_exprs", broken)
    x = _leaf("x")
    g = dg.graph(dg.tanh(x) * 3)
    with pytest.raises(ValueError, match="'frob' has no symbolic form"):
        g.gradient_formula("x")
    const = next(n.name for n in g.nodes if n.kind == "const")
    with pytest.raises(ValueError, match="is a constant"):
        g.gradient_formula(const)


def test_graph_build_stops_at_the_node_limit(monkeypatch):
    """dg.graph spent 9 s building a 600,001-node graph that drawing then refused."""
    x = _leaf("x")
    y = x
    for _ in range(5000):
        y = dg.tanh(y)
    with pytest.raises(GraphTooLargeError) as info:
        dg.graph(y, max_nodes=1000)
    msg = str(info.value)
    assert "more than 1,000 nodes" in msg and "DAGRAD_MAX_GRAPH_NODES" in msg
    assert "max_nodes=" in msg and info.value.count == 1001  # the walk stopped there
    monkeypatch.setenv("DAGRAD_MAX_GRAPH_NODES", "2000")
    with pytest.raises(GraphTooLargeError, match="more than 2,000 nodes"):
        dg.graph(y)
    with pytest.raises(GraphTooLargeError, match="more than 2,000 nodes"):
        dg.trace(lambda v: dg.tanh(v) * y, x)
    assert len(dg.graph(y, max_nodes=5001)) == 5001


def test_default_graph_limit_refuses_a_150001_node_chain():
    assert GRAPH.default == 100_000
    x = _leaf("x")
    y = x
    for _ in range(150_000):
        y = dg.tanh(y)
    with pytest.raises(GraphTooLargeError, match="more than 100,000 nodes"):
        dg.graph(y)


def test_derivation_of_a_huge_graph_is_refused_at_once():
    g = _chain(2500, dg.tanh)  # 2,501 nodes, above the drawing limit of 2,000
    for call in (g.derivation, g.to_latex):
        with pytest.raises(GraphTooLargeError, match="write out the derivation of a graph of "
                                                     "2,501 nodes"):
            call()
    small = _chain(3, dg.tanh)
    with pytest.raises(GraphTooLargeError, match="max_nodes=4"):
        small.derivation(max_nodes=3)
    assert "Reverse pass" in small.derivation(max_nodes=4)


# ----- the bounded child itself -----------------------------------------------------------------
def test_isolate_keeps_what_came_in_time(monkeypatch):
    import time

    if not isolate.available():
        pytest.skip("no fork here")

    def work(emit):
        emit("first", 1)
        while True:
            time.sleep(0.01)

    start = time.monotonic()
    out = isolate.run(work, lambda frames: start + 1.0, 2**30)
    assert out.frames == [("first", 1)] and out.stopped == "time"


def test_isolate_hands_back_errors_and_runs_in_process_when_switched_off(monkeypatch):
    def work(emit):
        emit("a", [1, 2])
        raise KeyError("boom")

    for flag in ("1", "0"):
        monkeypatch.setenv("DAGRAD_SYMBOLIC_ISOLATE", flag)
        out = isolate.run(work, lambda frames: float("inf"), 2**30)
        assert out.frames == [("a", [1, 2])] and out.stopped == "error"
        assert isinstance(out.error, KeyError)
    assert SECONDS.default == 3.0
