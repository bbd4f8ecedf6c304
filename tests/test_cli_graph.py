"""Tests for ``dagrad graph`` and ``dagrad rosenbrock`` (exercise (b) end to end)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dagrad.cli import main

ROSENBROCK = "100*(x2 - x1**2)**2 + (1 - x1)**2"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
DAGRAD = Path(sys.executable).with_name("dagrad")


def _svg_ok(path: Path) -> None:
    assert ET.fromstring(path.read_bytes()).tag.endswith("svg")


# ----- dagrad rosenbrock ----------------------------------------------------------------------
@needs_dot
def test_rosenbrock_draws_and_derives(tmp_path, capsys):
    out = tmp_path / "rosenbrock.svg"
    assert main(["rosenbrock", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "backprop equals the closed form" in text  # the existing table stays
    assert "df/dx1                   151           151" in text
    assert "ops add, mul, powi, sub only" in text
    assert "∂v1/∂x1 = 2·x1 = 3" in text
    assert "x̄1 = v̄1·∂v1/∂x1 + v̄5·∂v5/∂x1" in text
    assert "∂f/∂x2 = 200*(-x1**2 + x2)" in text
    assert "the chain rule over the DAG gives the closed form" in text
    assert f"wrote {out}" in text
    _svg_ok(out)
    svg = out.read_text(encoding="utf-8")
    assert "x1 − v1" not in svg and "x2 − v1" in svg and "100·v3" in svg
    assert ">100<" not in svg  # constants folded into the ops by default


@needs_dot
def test_rosenbrock_constant_nodes_png(tmp_path, capsys):
    out = tmp_path / "r.png"
    assert main(["rosenbrock", "--at", "x1=-1,x2=0.5", "--constant-nodes", "--rankdir", "TB",
                 "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "check: backprop equals the closed form" in capsys.readouterr().out


def test_rosenbrock_without_picture_and_dot_source(tmp_path, capsys):
    assert main(["rosenbrock"]) == 0
    out = tmp_path / "r.dot"
    assert main(["rosenbrock", "--no-values", "-o", str(out)]) == 0
    src = out.read_text(encoding="utf-8")
    assert src.startswith("digraph") and "value" not in src and "= 2·x1" in src


@pytest.mark.parametrize("at,named", [("x1=1", "x2"), ("x1=1,x2=2,x3=0", "x3"),
                                      ("y=1,x2=2", "y")])
def test_rosenbrock_bad_point_names_the_variable(at, named, tmp_path, capsys):
    out = tmp_path / "r.svg"
    assert main(["rosenbrock", "--at", at, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert not out.exists()


def test_tour_still_runs(capsys):
    assert main(["tour"]) == 0
    assert "151" in capsys.readouterr().out


# ----- dagrad graph: the happy paths ----------------------------------------------------------
@needs_dot
def test_graph_rosenbrock_svg(tmp_path, capsys):
    out = tmp_path / "rosenbrock.svg"
    assert main(["graph", ROSENBROCK, "--at", "x1=1.5,x2=2", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "value:    f = 6.5" in text
    assert "gradient: ∂f/∂x1 = 151, ∂f/∂x2 = -50" in text
    assert "Reverse pass" in text and "x̄2 = v̄2·∂v2/∂x2" in text
    assert "∂f/∂x1 = -400*x1*(-x1**2 + x2) + 2*x1 - 2" in text
    assert "the formulas at this point equal backprop" in text
    _svg_ok(out)
    svg = out.read_text(encoding="utf-8")
    assert "∂v1/∂x1" in svg and "value 6.5" in svg and ">100<" in svg


def test_graph_options_in_dot_source(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["graph", ROSENBROCK, "--at", "x1=1.5,x2=2", "-o", str(out), "--no-values",
                 "--fold-constants", "--rankdir", "TB", "--no-symbolic"]) == 0
    src = out.read_text(encoding="utf-8")
    assert "rankdir=TB" in src and "value" not in src and "style=dashed" not in src
    assert "Symbolic gradient" not in capsys.readouterr().out


def test_graph_latex_and_reused_variable(capsys):
    assert main(["graph", "x*x + tanh(x)", "--at", "x=0.5", "--latex"]) == 0
    text = capsys.readouterr().out
    assert r"\begin{align*}" in text and r"\bar{x} &= " in text
    assert "∂f/∂x = 2*x - tanh(x)**2 + 1" in text


def test_graph_constant_function_calls(capsys):
    # sigmoid(2) is a constant of the expression: a float, not an integer tensor
    assert main(["graph", "sigmoid(2)*x + exp(0)*x", "--at", "x=1", "--no-symbolic"]) == 0
    assert "gradient: ∂f/∂x = 1.8808" in capsys.readouterr().out


def test_graph_spaces_and_semicolons_in_at(capsys):
    assert main(["graph", "a*b - c", "--at", "a = 2; b=3 c=1"]) == 0
    assert "value:    f = 5" in capsys.readouterr().out


# ----- dagrad graph: refused input ------------------------------------------------------------
MALICIOUS = [
    "__import__('os').system('touch pwned')",
    "open('pwned', 'w').write('x')",
    "x.__class__.__bases__",
    "().__class__.__mro__[1].__subclasses__()",
    "exec('import os')",
    "eval('x')",
    "lambda: x",
    "[x for x in (1, 2)]",
    "x if x else 1",
    "x @ x",
    "x % 2",
    "x // 2",
    "x ** y",
    "9**9**9 * x",
    "x ** 100000",
    "1/0 + x",
    "f'{x}'",
    "x; import os",
    "x\nimport os",
    "",
    "   ",
    "(" * 200 + "x" + ")" * 200,
    "x + " * 700 + "x",
    "exp(x, 1)",
    "os.system(x)",
    "x[0]",
    "{x}",
    "'pwned'",
    "x == 1",
    "not x",
    "x and 1",
    "sqrt",
    "1e999 * x",
    "\u00e9 + x",
    "x\x00",
    "x = 1",
    "x +",
    "x # comment",
    "maximum(x)",
    "leaky_relu(x, x)",
]


@pytest.mark.parametrize("expr", MALICIOUS)
def test_graph_refuses_malicious_or_malformed(expr, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.svg"
    assert main(["graph", expr, "--at", "x=1", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dagrad graph: error: ") and err.count("\n") == 1
    assert "Traceback" not in err
    assert os.listdir(tmp_path) == []  # nothing written, nothing executed (no 'pwned')


@pytest.mark.parametrize("expr", [MALICIOUS[0], "x ** y", "(" * 200 + "x" + ")" * 200, "",
                                  "9**9**9", "(" * 10_000 + "x" + ")" * 10_000])
def test_graph_refuses_via_subprocess(expr, tmp_path):
    out = tmp_path / "out.png"
    proc = subprocess.run([str(DAGRAD), "graph", expr, "--at", "x=1", "-o", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr
    assert os.listdir(tmp_path) == []


def test_graph_subprocess_happy_path(tmp_path):
    out = tmp_path / "g.dot"
    proc = subprocess.run([str(DAGRAD), "graph", "x1*x2 + sigmoid(x1)", "--at", "x1=0,x2=3",
                           "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "gradient: ∂f/∂x1 = 3.25, ∂f/∂x2 = 0" in proc.stdout
    assert out.read_text(encoding="utf-8").startswith("digraph")


@pytest.mark.parametrize("at,named", [
    ("x1=1", "--at is missing x2"),
    ("", "--at is missing x1, x2"),
    ("x1=1,x2=2,z=3", "--at names z, which the expression does not use"),
    ("x1=1,zz=2", "--at is missing x2; --at names zz"),
])
def test_graph_missing_or_extra_variables_are_named(at, named, tmp_path, capsys):
    out = tmp_path / "g.svg"
    assert main(["graph", "x1 + x2", "--at", at, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("argv,message", [
    (["graph", "log(x)", "--at", "x=-1"], "not finite"),
    (["graph", "1/x", "--at", "x=0"], "not finite"),
    (["graph", "1 + 2", "--at", ""], "no variables"),
    (["graph", "x", "--at", "x=1", "-o", "g.jpg"], "suffix"),
    (["graph", "x", "--at", "x=1", "-o", "no/such/folder/g.svg"], "does not exist"),
    (["graph", "x", "--at", "x=nan"], "not finite"),
    (["graph", "x", "--at", "x=1,x=2"], "duplicate"),
    (["graph", "x", "--at", "pi=1,x=2"], "constant"),
])
def test_graph_user_errors_exit_2(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_graph_without_dot_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "g.svg"
    assert main(["graph", "x*x", "--at", "x=1", "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert "apt-get install graphviz" in captured.err and "conda install graphviz" in captured.err
    assert captured.out == ""  # refused before any work
    assert not out.exists()


# ----- an expression that starts with a minus ------------------------------------------------
@pytest.mark.parametrize("argv,expression,value,gradient", [
    (["graph", "-x**2", "--at", "x=3"], "-x**2", "f = -9", "∂f/∂x = -6"),
    (["graph", "-log(p)", "--at", "p=0.5"], "-log(p)", "f = 0.693147", "∂f/∂p = -2"),
    (["graph", "-x", "--at", "x=3"], "-x", "f = -3", "∂f/∂x = -1"),
    (["graph", "--at", "x=3", "-x*x"], "-x*x", "f = -9", "∂f/∂x = -6"),  # after the options
    # -h is a flag, but "-h**2" is no option: the expression in h
    (["graph", "--at=h=2", "-h**2", "--no-symbolic"], "-h**2", "f = -4", "∂f/∂h = -4"),
])
def test_graph_expression_with_a_leading_minus(argv, expression, value, gradient, capsys):
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"f = {expression}   at ")
    assert f"value:    {value}" in text and gradient in text


def test_leading_minus_options_still_parse(tmp_path, capsys):
    out = tmp_path / "g.dot"
    # -o attached to its value, --at=..., an abbreviated long option, a negative number value
    assert main(["graph", "-log(p)", f"-o{out}", "--at=p=0.5", "--no-sym", "--rankdir", "TB"]) \
        == 0
    assert "rankdir=TB" in out.read_text(encoding="utf-8")
    assert "Symbolic gradient" not in capsys.readouterr().out
    assert main(["graph", "--at", "x=-2", "-x**3", "-o", str(out)]) == 0
    assert "value:    f = 8" in capsys.readouterr().out


def test_leading_minus_in_option_values_and_errors():
    from dagrad.cli import build_parser

    args = build_parser().parse_args(["vanishing", "--activations", "-x,tanh", "--weights",
                                      "-0.5,0.25", "--x", "-1e-3"])
    assert (args.activations, args.weights, args.x) == ("-x,tanh", "-0.5,0.25", -1e-3)
    args = build_parser().parse_args(["graph", "-(x+1)**2"])
    assert args.expression == "-(x+1)**2" and args.at == ""
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["graph", "-h"])  # a real flag stays one
    assert info.value.code == 0


@pytest.mark.parametrize("argv,message", [
    (["graph", "x", "--att", "x=1"], "unrecognized arguments: --att"),
    (["graph", "-x", "-y"], "unrecognized arguments: -y"),
    (["train", "--epochs", "-x"], "argument --epochs: invalid int value: '-x'"),
    (["graph"], "the following arguments are required: expression"),
])
def test_unknown_options_are_still_named(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_graph_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["graph", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "--fold-constants" in text and "--rankdir" in text and "example:" in text
