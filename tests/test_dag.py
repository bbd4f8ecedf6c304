"""Tests for the DAG you can see (dagrad.dag): model, path sums, symbolic chain rule, pictures."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import sympy
import torch

import dagrad as dg
from dagrad.dag import CONST, LEAF, OP, Graph, graph, symbolic, trace
from dagrad.expression import numpy_functions, parse, to_sympy

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")


def rosen(x1, x2):
    return 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2


@pytest.fixture
def rg() -> Graph:
    return trace(rosen, 1.5, 2.0)


# ----- the model ------------------------------------------------------------------------------
def test_rosenbrock_structure(rg):
    ops = [n.op for n in rg.nodes if n.kind == OP]
    assert set(ops) == {"add", "sub", "mul", "powi"}
    assert len(ops) == 7
    assert [n.name for n in rg.leaves] == ["x1", "x2"]
    names = [n.name for n in rg.nodes]
    assert len(names) == len(set(names)) and names.count("x1") == 1
    assert len(rg.out_edges("x1")) == 2
    assert {e.target for e in rg.out_edges("x1")} == {"v1", "v5"}
    assert [n.name for n in rg.nodes if n.kind == OP] == ["v1", "v2", "v3", "v4", "v5", "v6", "f"]
    assert sorted(float(n.value) for n in rg.nodes if n.kind == CONST) == [1.0, 100.0]
    assert rg.output.name == "f" and float(rg.output.value) == 6.5
    assert rg["v2"].inputs == ("x2", "v1")
    assert len(rg.edges) == 11


def test_rosenbrock_values_and_adjoints(rg):
    want = {"x1": (1.5, 151), "x2": (2, -50), "v1": (2.25, 50), "v2": (-0.25, -50),
            "v3": (0.0625, 100), "v4": (6.25, 1), "v5": (-0.5, -1), "v6": (0.25, 1),
            "f": (6.5, 1)}
    for name, (value, adj) in want.items():
        assert float(rg[name].value) == pytest.approx(value)
        assert float(rg[name].grad) == pytest.approx(adj)
    assert all(n.grad is None for n in rg.nodes if n.kind == CONST)
    assert {k: float(v) for k, v in rg.gradient().items()} == {"x1": 151.0, "x2": -50.0}


def test_rosenbrock_edges(rg):
    got = {(e.source, e.target): (e.formula, e.value) for e in rg.edges if not e.constant}
    assert got == {("x1", "v1"): ("2*x1", 3.0), ("x2", "v2"): ("1", 1.0),
                   ("v1", "v2"): ("-1", -1.0), ("v2", "v3"): ("2*v2", -0.5),
                   ("v3", "v4"): ("100", 100.0), ("x1", "v5"): ("-1", -1.0),
                   ("v5", "v6"): ("2*v5", -1.0), ("v4", "f"): ("1", 1.0),
                   ("v6", "f"): ("1", 1.0)}
    e = next(e for e in rg.edges if (e.source, e.target) == ("x1", "v1"))
    assert e.latex == "2 x_{1}" and e.pretty == "2·x1" and e.kind == "scalar"
    const = [e for e in rg.edges if e.constant]
    assert {(rg[e.source].kind, e.target) for e in const} == {(CONST, "v4"), (CONST, "v5")}


def test_mul_by_itself_gives_two_edges():
    x = dg.tensor(3.0, requires_grad=True, dtype="float64", name="x")
    g = graph(x * x)
    edges = g.in_edges("f")
    assert [(e.source, e.slot, e.formula, e.value) for e in edges] == [
        ("x", 0, "x", 3.0), ("x", 1, "x", 3.0)]
    assert len(g.paths("x")) == 2 and g.path_sum("x") == 6.0 == float(g["x"].grad)
    assert g.gradient_formula("x") == 2 * sympy.Symbol("x", real=True)


def test_product_edges_read_the_other_factor():
    g = trace(lambda a, b: a * b, 2.0, 5.0)
    assert {e.source: (e.formula, e.value) for e in g.in_edges("f")} == {
        "a": ("b", 5.0), "b": ("a", 2.0)}


def test_identity_graph_is_one_leaf():
    g = trace(lambda x: x, 2.0)
    assert len(g) == 1 and g.output.name == "x" and float(g["x"].grad) == 1.0
    assert g.gradient_formula("x") == 1
    assert "x̄ = 1" in g.derivation() and g.to_dot().startswith("digraph")


def test_names_user_intermediates_and_unnamed_leaves():
    a = dg.tensor(1.0, requires_grad=True, dtype="float64")
    b = dg.tensor(2.0, requires_grad=True, dtype="float64", name="v1")
    h = a * b
    h.name = "hidden"
    out = dg.tanh(h) + a
    g = graph(out)
    assert [n.name for n in g.nodes] == ["x1", "v1", "hidden", "v2", "f"]
    assert [n.kind for n in g.nodes] == [LEAF, LEAF, OP, OP, OP]
    g2 = graph(out)  # stable: the same names again
    assert [n.name for n in g2.nodes] == [n.name for n in g.nodes]


def test_duplicate_user_names_get_suffixes():
    a = dg.tensor(1.0, requires_grad=True, name="x")
    b = dg.tensor(2.0, requires_grad=True, name="x")
    g = graph(a * b)
    assert [n.name for n in g.leaves] == ["x", "x_2"]


def test_trace_names_from_parameters_and_tensors():
    g = trace(lambda alpha, beta: alpha * beta + 1, 2.0, dg.tensor(3.0, name="b"))
    assert [n.name for n in g.leaves] == ["alpha", "b"]
    assert g["alpha"].value.dtype == np.float64
    assert g["b"].value.dtype == np.float32  # a Tensor keeps its dtype

    def star(*xs):
        return xs[0] * xs[1]

    assert [n.name for n in trace(star, 1.0, 2.0).leaves] == ["x1", "x2"]


def test_trace_keeps_unused_input_with_zero_adjoint():
    g = trace(lambda x, y: x * 2, 1.0, 5.0)
    assert float(g["y"].grad) == 0.0 and g.out_edges("y") == []
    assert g.paths("y") == [] and g.path_sum("y") == 0.0
    assert "f does not depend on y" in g.derivation()


def test_graph_leaves_grad_untouched_and_trace_does_not_touch_inputs():
    x = dg.tensor(1.5, requires_grad=True, dtype="float64", name="x1")
    y = dg.tensor(2.0, requires_grad=True, dtype="float64", name="x2")
    f = rosen(x, y)
    g = graph(f)
    assert x.grad is None and y.grad is None
    assert float(g["x1"].grad) == 151.0
    trace(rosen, x, y)
    assert x.grad is None


def test_trace_under_no_grad_still_records():
    with dg.no_grad():
        g = trace(rosen, 1.5, 2.0)
    assert float(g["x1"].grad) == 151.0


def test_graph_errors():
    with pytest.raises(ValueError, match="nothing was recorded"):
        graph(dg.tensor(1.0) * 2)
    with pytest.raises(TypeError):
        graph(1.0)
    with pytest.raises(TypeError, match="must return a dagrad Tensor"):
        trace(lambda x: 3.0, 1.0)
    with pytest.raises(KeyError, match="no node named"):
        trace(rosen, 1.0, 1.0)["nope"]


def test_dg_graph_is_callable_every_time():
    x = dg.tensor(2.0, requires_grad=True)
    assert isinstance(dg.graph(x * x), dg.Graph)
    assert isinstance(dg.graph(x * x), dg.Graph)  # the subpackage is callable too
    assert dg.trace is trace and dg.Graph is Graph


def test_non_scalar_output_and_grad_output():
    x = dg.tensor([1.0, 2.0], requires_grad=True, dtype="float64", name="x")
    y = dg.tanh(x) * 3
    g = graph(y)
    assert all(n.grad is None for n in g.nodes)
    assert "not computed" in g.derivation()
    g2 = graph(y, grad_output=np.array([1.0, 0.5]))
    np.testing.assert_allclose(g2["x"].grad, 3 * (1 - np.tanh([1, 2]) ** 2) * [1, 0.5])


# ----- tensor nodes: diagonal or full Jacobian ------------------------------------------------
def test_tensor_edges_diagonal_and_jacobian():
    W = dg.tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True, dtype="float64",
                  name="W")
    x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True, dtype="float64", name="x")
    g = graph(dg.tanh(W @ x).sum())
    kinds = {(e.source, e.target): e.kind for e in g.edges}
    assert kinds == {("W", "v1"): "jacobian", ("x", "v1"): "jacobian",
                     ("v1", "v2"): "diagonal", ("v2", "f"): "jacobian"}
    jw = dg.jacobian(lambda w: w @ x, argnums=0)(W)
    jx = dg.jacobian(lambda v: W @ v, argnums=0)(x)
    e = {(e.source, e.target): e for e in g.edges}
    np.testing.assert_allclose(e["W", "v1"].value, np.asarray(jw))
    np.testing.assert_allclose(e["x", "v1"].value, np.asarray(jx))
    np.testing.assert_allclose(e["v1", "v2"].value, 1 - np.tanh(g["v1"].value) ** 2)
    np.testing.assert_allclose(e["v2", "f"].value, np.ones(2))
    assert e["W", "v1"].value.shape == (2, 2, 3)
    assert e["v1", "v2"].formula == "1 - tanh(v1)**2"
    assert "xᵀ" in e["W", "v1"].formula  # the op table's template, in the nodes' names
    with pytest.raises(ValueError, match="scalar nodes"):
        g.gradient_formula("x")
    with pytest.raises(ValueError, match="scalar"):
        g.path_sum("x")
    assert "Jacobian" in g.derivation()


def test_broadcast_constant_edge_is_diagonal_of_output_shape():
    x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True, dtype="float64", name="x")
    s = dg.tensor(2.0, requires_grad=True, dtype="float64", name="s")
    g = graph((x * s).sum())
    e = next(e for e in g.edges if e.source == "s")
    assert e.kind == "diagonal"
    np.testing.assert_allclose(e.value, [1.0, 2.0, 3.0])


# ----- random programs: path sums, adjoints, formulas vs rules vs PyTorch ---------------------
def _program(rng: np.random.Generator, n_inputs: int, n_ops: int) -> tuple[list, list]:
    """A random straight-line program of primitive scalar ops (values kept in safe ranges)."""
    xs = list(rng.uniform(-1.5, 1.5, n_inputs))
    vals = list(xs)
    prog = []
    while len(prog) < n_ops:
        kind = str(rng.choice(["add", "sub", "mul", "div", "addc", "mulc", "rsubc", "powi", "tanh",
                               "sigmoid", "exp", "log", "neg"]))
        recent = max(len(vals) - 3, 0)  # mostly build on recent values: long, shared paths
        i = int(rng.integers(recent if rng.random() < 0.6 else 0, len(vals)))
        j = int(rng.integers(len(vals))) if rng.random() < 0.8 else i  # reuse, also x∘x
        a, b = vals[i], vals[j]
        c = float(rng.choice([0.5, 2.0, 3.0, -1.5]))
        n = int(rng.choice([2, 3]))
        if kind == "div" and abs(b) < 0.4 or kind == "exp" and abs(a) > 2 or \
                kind == "log" and a < 0.2 or kind == "powi" and abs(a) > 3:
            continue
        v = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / (b if b else 1),
             "addc": a + c, "mulc": c * a, "rsubc": c - a, "powi": a**n, "tanh": math.tanh(a),
             "sigmoid": 1 / (1 + math.exp(-a)), "exp": math.exp(min(a, 50)),
             "log": math.log(a) if a > 0 else 0.0, "neg": -a}[kind]
        if abs(v) > 50:
            continue
        prog.append((kind, i, j, c, n))
        vals.append(v)
    return xs, prog


_STEP = {
    "add": lambda lib, a, b, c, n: a + b, "sub": lambda lib, a, b, c, n: a - b,
    "mul": lambda lib, a, b, c, n: a * b, "div": lambda lib, a, b, c, n: a / b,
    "addc": lambda lib, a, b, c, n: a + c, "mulc": lambda lib, a, b, c, n: c * a,
    "rsubc": lambda lib, a, b, c, n: c - a, "powi": lambda lib, a, b, c, n: a**n,
    "tanh": lambda lib, a, b, c, n: lib.tanh(a), "sigmoid": lambda lib, a, b, c, n: lib.sigmoid(a),
    "exp": lambda lib, a, b, c, n: lib.exp(a), "log": lambda lib, a, b, c, n: lib.log(a),
    "neg": lambda lib, a, b, c, n: -a,
}


def _run(prog, leaves, lib):
    """Run a program on dagrad (lib=dg) or PyTorch (lib=torch) leaves; all values, in order."""
    vals = list(leaves)
    for kind, i, j, c, n in prog:
        vals.append(_STEP[kind](lib, vals[i], vals[j], c, n))
    return vals


def _sum_tail(vals, k=3):
    out = vals[-1]
    for v in vals[-k:-1]:
        out = out + v
    return out


@pytest.mark.parametrize("seed", range(25))
def test_random_programs_path_sums_adjoints_and_torch(seed):
    rng = np.random.default_rng(seed)
    xs, prog = _program(rng, n_inputs=3, n_ops=int(rng.integers(4, 14)))
    dl = [dg.tensor(x, requires_grad=True, dtype="float64", name=f"x{k + 1}")
          for k, x in enumerate(xs)]
    dv = _run(prog, dl, dg)
    out = _sum_tail(dv)
    g = graph(out)

    tl = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    tv = _run(prog, tl, torch)
    for t in tv[len(tl):]:
        t.retain_grad()
    tout = _sum_tail(tv)
    tout.backward()

    where = {id(t): k for k, t in enumerate(dv)}
    where[id(out)] = None
    for node in g.nodes:
        if node.kind == CONST:
            continue
        k = where.get(id(node.tensor))
        if k is None:
            continue  # the final sum's own nodes
        tg = tv[k].grad
        assert tg is not None, node.name
        assert float(node.grad) == pytest.approx(float(tg), rel=1e-9, abs=1e-12), node.name
    autodiff = dg.autograd_grad(out, dl)
    for leaf, x_t, a in zip(dl, tl, autodiff, strict=True):
        name = leaf.name
        if name not in g:
            assert float(x_t.grad if x_t.grad is not None else 0.0) == 0.0
            continue
        by_paths = sum(math.prod(e.value for e in p) for p in g.paths(name))
        assert by_paths == pytest.approx(float(a.item()), rel=1e-9, abs=1e-12)
        assert by_paths == pytest.approx(float(x_t.grad), rel=1e-9, abs=1e-12)
        assert g.path_sum(name) == pytest.approx(by_paths, rel=1e-12, abs=1e-15)
    # every edge: the op's SymPy formula at this point equals its vjp rule with g = 1
    sym = symbolic.symbols(g)
    point = {s: float(g[name].value) for name, s in sym.items() if isinstance(s, sympy.Symbol)}
    for e in g.edges:
        assert float(e.expr.subs(point)) == pytest.approx(e.value, rel=1e-9, abs=1e-12), e


@pytest.mark.parametrize("seed", range(6))
def test_random_programs_symbolic_gradient_matches_sympy_diff(seed):
    rng = np.random.default_rng(100 + seed)
    xs, prog = _program(rng, n_inputs=2, n_ops=int(rng.integers(3, 8)))
    dl = [dg.tensor(x, requires_grad=True, dtype="float64", name=f"x{k + 1}")
          for k, x in enumerate(xs)]
    g = graph(_sum_tail(_run(prog, dl, dg)))
    fwd = g.forward_formula()
    syms = {n.name: sympy.Symbol(n.name, real=True) for n in g.leaves}
    for name, s in syms.items():
        want = sympy.diff(fwd, s)
        got = g.gradient_formula(name)
        at = {v: float(g[v.name].value) for v in syms.values()}
        assert float(got.subs(at)) == pytest.approx(float(want.subs(at)), rel=1e-9, abs=1e-12)
        assert float(got.subs(at)) == pytest.approx(float(g[name].grad), rel=1e-9, abs=1e-12)


# ----- symbolic chain rule --------------------------------------------------------------------
def test_rosenbrock_symbolic_gradient_equals_closed_form(rg):
    x1, x2 = sympy.symbols("x1 x2", real=True)
    g1 = rg.gradient_formula("x1")
    g2 = rg.gradient_formula("x2")
    assert sympy.simplify(g1 - (-400 * x1 * (x2 - x1**2) - 2 * (1 - x1))) == 0
    assert sympy.simplify(g2 - 200 * (x2 - x1**2)) == 0
    assert g1.free_symbols == {x1, x2}
    assert sympy.simplify(rg.forward_formula() - (100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2)) == 0
    products = symbolic.path_products(rg, "x1")
    assert len(products) == 2
    assert sympy.expand(sum(products).xreplace(
        {sympy.Symbol("v2", real=True): x2 - x1**2, sympy.Symbol("v5", real=True): 1 - x1})
        - g1) == 0


@pytest.mark.parametrize("src", [
    "100*(x2 - x1**2)**2 + (1 - x1)**2",
    "tanh(x1*x2) + sigmoid(x1) / (1 + x2**2)",
    "exp(x1 - x2) * log(1 + x1**2)",
    "sqrt(1 + x1**2) - x2**3 / 4 + x1*x1*x2",
])
def test_gradient_formula_equals_sympy_diff_of_the_parsed_expression(src):
    expr = parse(src)
    leaves = {v: dg.tensor(val, requires_grad=True, dtype="float64", name=v)
              for v, val in zip(expr.variables, (0.7, -1.2), strict=False)}
    g = graph(expr.evaluate(leaves))
    target = to_sympy(expr)
    for v in expr.variables:
        want = sympy.diff(target, sympy.Symbol(v, real=True))
        assert sympy.simplify(g.gradient_formula(v) - want) == 0
    np.testing.assert_allclose(float(g.output.value),
                               expr.evaluate({k: 0.7 if k == "x1" else -1.2
                                              for k in expr.variables}, numpy_functions()))


def test_gradient_formula_of_constant_refused(rg):
    c = next(n for n in rg.nodes if n.kind == CONST)
    with pytest.raises(ValueError, match="constant"):
        rg.gradient_formula(c.name)


# ----- derivation text and LaTeX --------------------------------------------------------------
def test_derivation_text(rg):
    text = rg.derivation()
    rev = text.split("Reverse pass")[1].splitlines()[1:]
    rev = [line for line in rev if line.strip()][:9]
    firsts = [line.split("=")[0].strip() for line in rev]
    assert firsts == ["f̄", "v̄6", "v̄5", "v̄4", "v̄3", "v̄2", "v̄1", "x̄2", "x̄1"]
    assert "x̄1 = v̄1·∂v1/∂x1 + v̄5·∂v5/∂x1 = v̄1·(2·x1) + v̄5·(−1) = 50·3 + (−1)·(−1) = 151" in text
    assert "v2 = x2 − v1 = −0.25" in text
    assert "∇f = (∂f/∂x1, ∂f/∂x2) = (151, −50)" in text
    ascii_text = rg.to_text(unicode=False)
    assert ascii_text.isascii()
    assert "adj(x1) = adj(v1)*dv1/dx1 + adj(v5)*dv5/dx1" in ascii_text


def test_to_latex(rg):
    tex = rg.to_latex()
    assert tex.count(r"\begin{align*}") == 3 == tex.count(r"\end{align*}")
    assert r"\bar{x}_{1} &= \bar{v}_{1}\,\frac{\partial v_{1}}{\partial x_{1}}" in tex
    assert r"\frac{\partial v_{1}}{\partial x_{1}} &= 2 x_{1} = 3" in tex
    assert r"\nabla f = \left(\bar{x}_{1}, \bar{x}_{2}\right) = \left(151, -50\right)" in tex
    assert "{" in tex and tex.count("{") == tex.count("}")


def test_latex_escapes_odd_names():
    x = dg.tensor(1.0, requires_grad=True, name="a&b_{c}")
    tex = graph(dg.tanh(x)).to_latex()
    assert r"\texttt{a\&b\_\{c\}}" in tex


# ----- pictures -------------------------------------------------------------------------------
def _dot_ok(source: str) -> bytes:
    proc = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Warning" not in proc.stderr and b"Error" not in proc.stderr, proc.stderr
    return proc.stdout


def test_to_dot_content(rg):
    src = rg.to_dot()
    assert src.startswith("digraph dagrad {") and "rankdir=LR" in src
    assert "∂v1/∂x1" in src and "= 2·x1" in src and "= 3<" in src
    assert "∂f/∂x1 = 151" in src and "value 1.5" in src
    assert src.count("style=dashed") == 2  # the constants 100 and 1
    folded = rg.to_dot(constants="fold", rankdir="TB", values=False)
    assert "rankdir=TB" in folded and "style=dashed" not in folded
    assert "value" not in folded and "∂f/∂x1 =" not in folded and "= 2·x1" in folded
    assert ">100<" not in folded and "= 100·v3" in folded
    with pytest.raises(ValueError, match="constants"):
        rg.to_dot(constants="hide")
    with pytest.raises(ValueError, match="rankdir"):
        rg.to_dot(rankdir="XY")


@needs_dot
@pytest.mark.parametrize("options", [{}, {"constants": "fold"}, {"rankdir": "TB"},
                                     {"values": False, "constants": "fold", "rankdir": "BT"}])
def test_dot_accepts_rosenbrock(rg, options):
    svg = _dot_ok(rg.to_dot(**options))
    assert ET.fromstring(svg).tag.endswith("svg")


@needs_dot
def test_dot_accepts_tensor_graph_and_random_programs():
    W = dg.tensor(np.ones((2, 3)), requires_grad=True, name="W")
    x = dg.tensor(np.ones(3), requires_grad=True, name="x")
    labels = np.array([1])
    _dot_ok(graph(dg.cross_entropy((W @ x)[None, :], labels)).to_dot())
    for seed in range(5):
        rng = np.random.default_rng(seed)
        xs, prog = _program(rng, 2, 10)
        dl = [dg.tensor(v, requires_grad=True, dtype="float64") for v in xs]
        _dot_ok(graph(_sum_tail(_run(prog, dl, dg))).to_dot())


@needs_dot
def test_markup_in_names_is_escaped():
    nasty = ['a<b>', 'say "hi"', 'x & y', "</TD></TR></TABLE>>]; evil [label=x", "]}\\n{"]
    xs = [dg.tensor(float(k + 1), requires_grad=True, name=n) for k, n in enumerate(nasty)]
    out = xs[0]
    for t in xs[1:]:
        out = out * t
    out.name = "<out>"
    g = graph(out)
    src = g.to_dot()
    for n in nasty + ["<out>"]:
        if set(n) & set('<>&"'):
            assert n not in src
    assert "a&lt;b&gt;" in src and "say &quot;hi&quot;" in src and "x &amp; y" in src
    assert "evil [" not in src.replace("evil [label", "")  # no injected statement
    svg = _dot_ok(src)
    root = ET.fromstring(svg)
    texts = "".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "a<b>" in texts and 'say "hi"' in texts


@needs_dot
@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF"),
                                          (".svg", None)])
def test_render_writes_picture(rg, tmp_path, suffix, magic):
    path = tmp_path / f"rosenbrock{suffix}"
    assert rg.render(path) == str(path)
    data = path.read_bytes()
    if magic:
        assert data.startswith(magic)
    else:
        assert ET.fromstring(data).tag.endswith("svg")
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temp files left


@needs_dot
def test_render_replaces_existing_file_atomically(rg, tmp_path):
    path = tmp_path / "g.svg"
    path.write_text("old")
    rg.render(path, constants="fold")
    assert path.read_bytes().lstrip().startswith((b"<?xml", b"<svg"))
    assert os.listdir(tmp_path) == ["g.svg"]


def test_render_dot_source_needs_no_graphviz(rg, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    path = tmp_path / "g.dot"
    rg.render(path)
    assert path.read_text(encoding="utf-8") == rg.to_dot()


def test_render_without_dot_says_how_to_install(rg, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError) as info:
        rg.render(tmp_path / "g.svg")
    msg = str(info.value)
    assert "apt-get install graphviz" in msg and "conda install graphviz" in msg
    assert os.listdir(tmp_path) == []
    assert rg._repr_svg_() is None


def test_render_refuses_unknown_suffix(rg, tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        rg.render(tmp_path / "g.jpg")
    assert os.listdir(tmp_path) == []


@needs_dot
def test_repr_svg(rg):
    svg = rg._repr_svg_()
    assert isinstance(svg, str) and "<svg" in svg and "∂v1/∂x1" in svg


# ----- import weight --------------------------------------------------------------------------
def test_import_stays_light_and_values_need_no_sympy():
    code = ("import sys, dagrad as dg\n"
            "assert 'dagrad.dag' not in sys.modules\n"
            "g = dg.trace(lambda x1, x2: 100*(x2 - x1**2)**2 + (1 - x1)**2, 1.5, 2.0)\n"
            "assert [e.value for e in g.edges][0] == 3.0 and g.path_sum('x1') == 151.0\n"
            "assert 'sympy' not in sys.modules and 'graphviz' not in sys.modules\n"
            "g.edges[0].formula\n"
            "assert 'sympy' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
