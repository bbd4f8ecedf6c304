"""Every command as the default install (NumPy only) runs it: it works, or it does nothing and says
what to install.

Each command runs in a subprocess whose import system refuses the optional packages (a meta-path
finder installed by a ``sitecustomize.py`` on its PYTHONPATH) and whose PATH has no Graphviz
``dot``; no network is used (the embedded sample is the only data).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dagrad.cli import COMMANDS
from dagrad.cli.needs import NEEDS

OPTIONAL = ("sympy", "matplotlib", "graphviz", "torch", "jax", "jaxlib", "mpmath", "PIL",
            "scipy", "IPython")
SYMPY = "pip install 'dagrad[symbolic]'"
PLOT = "pip install 'dagrad[plot]'"
APT = "apt-get install graphviz"

_FINDER = '''
import sys

REFUSED = {refused!r}


class RefuseOptional:
    """Refuse the optional packages, as if only NumPy were installed; remember who asked."""

    refused = []

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in REFUSED:
            self.refused.append(name)
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, RefuseOptional())
'''


def _env(tmp_path: Path, refused: tuple[str, ...]) -> dict[str, str]:
    site = tmp_path / f"site-{len(refused)}"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_FINDER.format(refused=set(refused)))
    no_dot = tmp_path / "bin"  # a PATH with no programs at all, so no dot
    no_dot.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DAGRAD_"))}
    env.update(PYTHONPATH=str(site), PATH=str(no_dot), OPENBLAS_NUM_THREADS="1",
               PYTHONIOENCODING="utf-8", HOME=str(tmp_path), MPLCONFIGDIR=str(tmp_path / "mpl"))
    return env


def _dagrad(tmp_path: Path, *args: str, refused: tuple[str, ...] = OPTIONAL
            ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys; from dagrad.cli import main; "
                           "sys.exit(main(sys.argv[1:]))", *args],
                          cwd=tmp_path, env=_env(tmp_path, refused), capture_output=True,
                          text=True, encoding="utf-8", timeout=600, check=False)


def test_the_finder_really_refuses(tmp_path):
    """The stand-in for the default install: the optional packages cannot be imported there."""
    code = textwrap.dedent("""
        import importlib, shutil
        for name in ("sympy", "matplotlib", "graphviz"):
            try:
                importlib.import_module(name)
            except ModuleNotFoundError:
                print("refused", name)
        print("dot", shutil.which("dot"))
    """)
    res = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path, OPTIONAL),
                         capture_output=True, text=True, check=True)
    assert res.stdout.split("\n")[:4] == ["refused sympy", "refused matplotlib",
                                          "refused graphviz", "dot None"]


@pytest.mark.parametrize("refused", [OPTIONAL, ()], ids=["refused", "installed"])
def test_import_dagrad_imports_no_optional_package(refused, tmp_path):
    """Neither tries to (refused) nor does (installed): import dagrad, the CLI and its parser."""
    code = textwrap.dedent(f"""
        import sys
        import dagrad, dagrad.cli
        from dagrad.cli import build_parser
        build_parser()  # what 'dagrad --help' does
        tried = [f.refused for f in sys.meta_path if type(f).__name__ == "RefuseOptional"]
        print(sorted(m for m in sys.modules if m.partition(".")[0] in {set(OPTIONAL)!r}), tried)
    """)
    res = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path, refused),
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[] [[]]"


def test_every_command_declares_its_needs():
    assert set(NEEDS) == set(COMMANDS)


# command line -> None (runs, exit 0) or the install commands its one-line refusal must name
CASES = {
    "tour": ["pip install 'dagrad[plot,symbolic,draw]'", APT, "--only"],
    "tour --only a": ["pip install 'dagrad[plot,symbolic]'"],
    "tour --only b": [SYMPY, APT],
    "tour --only c": ["pip install 'dagrad[draw]'", APT],
    "tour --only train": [PLOT],
    "rosenbrock": [SYMPY],
    "graph x**2 --at x=3": [SYMPY],
    "vanishing --depth 6": None,
    "vanishing --depth 6 --activations leaky_relu:0.1,tanh --derivation": None,
    "vanishing --depth 6 --activations Sigmoid,tanh(x),leaky-relu": None,
    "vanishing --depth 6 -o v.png": [PLOT, "or leave out -o"],
    "vanishing --depth 6 --activations x/(1+abs(x))": [SYMPY],
    "vanishing --mlp --depth 2 --width 8 --batch 8 --steps 1": None,
    "vanishing --mlp --depth 2 --width 8 --batch 8 --steps 1 -o f.png": [PLOT],
    "mlp-jacobians --no-dense -o mj": None,
    "train --epochs 1 --limit-train 64 --limit-test 32 -o run": [PLOT, "--no-plots"],
}


@pytest.mark.parametrize("line", list(CASES))
def test_command_runs_or_refuses_before_any_work(line, tmp_path):
    res = _dagrad(tmp_path, *line.split())
    want = CASES[line]
    if want is None:
        assert res.returncode == 0, res.stderr
        assert "not installed" not in res.stderr
        return
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stdout == ""  # nothing was computed or printed
    [message] = res.stderr.splitlines()  # one line
    assert message.startswith(f"dagrad {line.split()[0]}: ") and "not installed" in message
    for text in want:
        assert text in message
    assert "Traceback" not in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", f"site-{len(OPTIONAL)}"]


def test_train_without_plots_and_evaluate_on_the_default_install(tmp_path):
    res = _dagrad(tmp_path, "train", "--epochs", "1", "--limit-train", "64", "--limit-test",
                  "32", "--no-progress", "-o", "run", "--no-plots")
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz", "metrics.json"]
    assert json.loads((run / "metrics.json").read_text())["epochs_done"] == 1

    ckpt = str(run / "checkpoint.npz")
    assert _dagrad(tmp_path, "evaluate", ckpt, "--limit", "32").returncode == 0
    res = _dagrad(tmp_path, "evaluate", ckpt, "--limit", "32", "-o", "ev")
    assert res.returncode == 2 and PLOT in res.stderr and "--no-plots" in res.stderr
    assert not (tmp_path / "ev").exists()
    res = _dagrad(tmp_path, "evaluate", ckpt, "--limit", "32", "-o", "ev", "--no-plots")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == ["evaluation.json"]


# with SymPy but without matplotlib, the graphviz package and dot: the needs follow the options
WITH_SYMPY = {
    "graph -x**2 --at x=3": None,
    "graph -x**2 --at x=3 -o f.dot": None,
    "graph -x**2 --at x=3 -o f.svg": [APT, "-o with a .dot suffix"],
    "graph -x**2 --at x=3 --html f.html": [APT],
    "rosenbrock -o r.gv": None,
    "rosenbrock -o r.png": [APT],
    "tour --only b": [APT],
}


@pytest.mark.parametrize("line", list(WITH_SYMPY))
def test_needs_follow_the_options(line, tmp_path):
    refused = tuple(m for m in OPTIONAL if m not in ("sympy", "mpmath"))
    res = _dagrad(tmp_path, *line.split(), refused=refused)
    want = WITH_SYMPY[line]
    if want is None:
        assert res.returncode == 0, res.stderr
        return
    assert res.returncode == 2 and res.stdout == "", (res.stdout, res.stderr)
    for text in want:
        assert text in res.stderr
    assert len(list(tmp_path.iterdir())) == 2  # bin/ and site-*/ only: nothing written
