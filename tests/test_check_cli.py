"""dagrad check: right exits 0, wrong exits 1 with the diagnosis, bad input exits 2."""

from __future__ import annotations

import pytest

from dagrad.cli import main

pytest.importorskip("sympy")

ROSENBROCK = "100*(x2 - x1**2)**2 + (1 - x1)**2"


@pytest.mark.parametrize("argv, code, words", [
    (["gradient", ROSENBROCK, "--wrt", "x1", "--answer", "-400*x1*(x2 - x1**2) - 2*(1 - x1)"],
     0, "RIGHT"),
    (["gradient", ROSENBROCK, "--wrt", "x1", "--answer", "-200*x1*(x2 - x1**2) - 2*(1 - x1)"],
     1, "off by a factor 2"),
    (["edges", ROSENBROCK, "--edge", "v2->v3=2*v2", "--edge", "x1->v1=2*x1"], 0, "RIGHT"),
    (["edges", ROSENBROCK, "--edge", "v1->v2=1"], 1, "the sign is wrong"),
    (["adjoints", ROSENBROCK, "--at", "x1=1.5,x2=2", "--adjoint", "v2=-50"], 0, "RIGHT"),
    (["adjoints", ROSENBROCK, "--at", "x1=1.5,x2=2", "--adjoint", "x1=150"], 1, "should be 151"),
    (["sizes", "--quantity", "grad_x", "--sizes", "1x10 · 10x256 · 256x256 · 256x784"], 0,
     "RIGHT"),
    (["sizes", "--quantity", "grad_x", "--sizes", "1x10 · 10x256 · 784x256"], 1,
     "10×256 cannot be followed by 784×256: 256 ≠ 784"),
    (["jacobian", "softmax", "--answer", "diag(s) - s @ sᵀ"], 0, "RIGHT"),
    (["jacobian", "tanh", "--answer", "diag(1 - z**2)"], 1, "z where the output s belongs"),
    (["bound", "--activation", "relu", "--bound", "abs(h0)", "--trials", "200"], 0,
     "no counterexample"),
    (["bound", "--activation", "sigmoid", "--bound", "abs(h0)/4", "--trials", "200"], 1,
     "counterexample"),
])
def test_exit_codes_and_diagnoses(capsys, argv, code, words):
    assert main(["check", *argv]) == code
    out = capsys.readouterr().out
    assert words in out


@pytest.mark.parametrize("argv, words", [
    (["gradient", "x1*", "--wrt", "x1", "--answer", "1"], "the expression 'x1*'"),
    (["gradient", "x1*x2", "--wrt", "y", "--answer", "1"], "--wrt 'y'"),
    (["edges", ROSENBROCK, "--edge", "v2->v9=1"], "no node 'v9'"),
    (["adjoints", ROSENBROCK, "--at", "x1=1.5", "--adjoint", "v2=1"], "missing x2"),
    (["sizes", "--quantity", "grad_x", "--sizes", "one by ten"], "cannot read"),
    (["sizes", "--quantity", "grad_x", "--sizes", "1x10", "--sizes-of", "a,b"], "--sizes-of"),
    (["jacobian", "softmax", "--answer", "__import__('os')"], "is not allowed"),
    (["bound", "--activation", "sigmoid", "--bound", "abs(y)"], "uses y"),
])
def test_bad_input_exits_2_naming_what_was_wrong(capsys, argv, words):
    assert main(["check", *argv]) == 2
    assert words in capsys.readouterr().err


def test_markdown_is_written(tmp_path, capsys):
    out = tmp_path / "r.md"
    assert main(["check", "sizes", "--quantity", "grad_x", "--sizes", "1x10 · 10x256",
                 "--markdown", str(out)]) == 1
    assert "### check sizes: WRONG" in out.read_text(encoding="utf-8")
    assert main(["check", "sizes", "--quantity", "grad_x", "--sizes", "1x10",
                 "--markdown", str(tmp_path / "no" / "r.md")]) == 2


def test_the_readme_quotes_what_the_command_prints(capsys):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert main(["check", "gradient", ROSENBROCK, "--wrt", "x1", "--answer",
                 "-200*x1*(x2 - x1**2) - 2*(1 - x1)"]) == 1
    first = next(line for line in capsys.readouterr().out.splitlines()
                 if line.startswith("  - the path"))
    assert first in readme


def test_sizes_needs_no_sympy_and_the_others_say_what_to_install():
    import subprocess
    import sys

    code = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('sympy', 'mpmath'):
            raise ImportError('refused ' + name)
sys.meta_path.insert(0, Refuse())
from dagrad.cli import main
a = main(['check', 'sizes', '--quantity', 'grad_x', '--sizes', '1x10 · 10x256 · 256x256 · 256x784'])
b = main(['check', 'gradient', 'x**2', '--wrt', 'x', '--answer', '2*x'])
print('codes', a, b, 'sympy' in sys.modules)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=300)
    assert "codes 0 2 False" in res.stdout, (res.stdout, res.stderr)
    assert "pip install 'dagrad[symbolic]'" in res.stderr


def test_student_notation_is_read_and_the_reading_echoed(capsys):
    assert main(["check", "gradient", "x^2 + e^x", "--wrt", "x", "--answer", "2x + e^x"]) == 0
    out = capsys.readouterr().out
    assert "read as:  expression: x**2 + exp(x)" in out
    assert "read as:  answer: 2*x + exp(x)" in out
    assert main(["check", "gradient", "x**2", "--wrt", "x", "--answer", "2*x"]) == 0
    assert "read as" not in capsys.readouterr().out  # typed canonically: nothing to echo


def test_the_issues_bound_is_broken_and_the_sheets_holds(capsys):
    assert main(["check", "bound", "--activation", "sigmoid", "--bound",
                 "abs(h0) * (1/4)**(n-i+1)", "--trials", "300"]) == 1
    out = capsys.readouterr().out
    assert "counterexample: n=" in out and "exceeds your bound" in out
    assert main(["check", "bound", "--activation", "sigmoid", "--bound",
                 "max(|h0|, 1) * (1/4)^(n-i+1)", "--trials", "300", "--w-max", "1"]) == 0
    out = capsys.readouterr().out
    assert "read as:  maximum(abs(h0), 1)*(1/4)**(n - i + 1)" in out
    assert "no counterexample in" in out and "proved" not in out
