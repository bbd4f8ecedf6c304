"""Exercise (c): only checks of two independent computations are counted, and each one can fail.

A check whose two sides come from the same code (sizes that chain, the softmax Jacobian's
symmetry, two builds of J_o1(W1)) is a consistency fact: reported, never counted.  Every
counted check names what it checks and its oracle, and breaking either of them — one at a
time, at the place the report gets it from — makes that check fail.
"""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
import dagrad.explain.mlp_jacobians.jacobians as jac
import dagrad.explain.mlp_jacobians.single as mlp_chain
from dagrad.nn import MLP
from dagrad.ops.base import OPS

SHEET = [784, 256, 256, 10]
SMALL = [12, 6, 5, 4]
CONSISTENCY = ("sizes chain", "symmetric", "rows sum to 0", "flattened equals",
               "chain multiplies")


@pytest.fixture(scope="module")
def digits():
    X, y = dg.data.load_sample("test")
    return X[:4].reshape(4, -1).astype(np.float64) / 255, y[:4]


@pytest.fixture(scope="module")
def sheet_report(digits):
    X, y = digits
    m = MLP(SHEET, activation="tanh", output="softmax", seed=0)
    return dg.explain.jacobian_chain(m, X[0], int(y[0]), dense=True)


def small_report(seed: int = 1):
    m = MLP(SMALL, activation="tanh", output="softmax", seed=seed)
    x = np.linspace(-1.0, 1.0, SMALL[0])
    return dg.explain.jacobian_chain(m, x, 2, dense=True)


# ----- classification ----------------------------------------------------------------------
def test_every_counted_check_names_two_different_computations(sheet_report):
    from dagrad.explain.mlp_jacobians.factors import SOURCES, Check

    r = sheet_report
    ind, con = r.independent_checks, r.consistency_checks
    assert len(ind) + len(con) == len(r.checks)
    for c in ind:
        assert c.subject in SOURCES and c.oracle in SOURCES and c.subject != c.oracle, c.name
        assert not any(k in c.name for k in CONSISTENCY), c.name
    for c in con:
        assert c.oracle is None and any(k in c.name for k in CONSISTENCY), c.name
    # the four size checks, the two softmax facts and the two builds of J_o1(W1)
    assert len(con) == 7
    assert len(ind) == 28
    oracles = {c.oracle for c in ind}
    assert oracles == {"dagrad forward", "dagrad reverse mode", "dg.jacobian",
                       "finite differences"}
    with pytest.raises(ValueError, match="with itself"):
        Check("closed forms vs closed forms", 0.0, 1.0, "closed forms", "closed forms")
    with pytest.raises(ValueError, match="not one of"):
        Check("vs a guess", 0.0, 1.0, "closed forms", "a guess")


def test_only_independent_checks_are_counted_in_every_rendering(sheet_report):
    r = sheet_report
    want = "checks: 28 of 28 pass"
    for name, text in (("text", str(r)), ("markdown", r.to_markdown()), ("html", r.to_html())):
        assert want in text, name
        assert "consistency: 7 of 7 hold" in text, name
        assert "of 35" not in text and "30 of 30" not in text, name
    tex = r.to_latex()
    assert "checks: 28 of 28 pass" in tex and "consistency: 7 of 7 hold" in tex
    assert "Consistency (not counted as checks)" in tex


def test_the_tour_counts_only_independent_checks(tmp_path):
    pytest.importorskip("graphviz")
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' not installed (the tour draws the DAG)")
    from dagrad.tour import part_c

    section = part_c.run(tmp_path)
    line = next(s for s in section.summary if s.startswith("checks:"))
    assert line.startswith("checks: 28 of 28 pass") and "consistency: 7 of 7 hold" in line
    # what the line says was compared is what was compared
    assert ("12 closed forms vs dg.jacobian" in line and
            "3 closed forms vs finite differences" in line and
            "1 NumPy forward vs dagrad forward" in line)
    bonus = next(s for s in section.summary if s.startswith("bonus:"))
    assert "δ1 (1×256) · J_o1(W1) (256×200,704)" in bonus
    assert "checks: 28 of 28 pass" in section.markdown and section.ok
    # the page lists exactly the counted checks, each with its oracle
    assert len(section.checks) == 28 and all(c.passed for c in section.checks)
    assert sum(c.oracle_kind == "finite differences" for c in section.checks) == 3
    assert not any("sizes chain" in c.name or "symmetric" in c.name for c in section.checks)


def test_batch_counts_only_independent_checks(digits):
    X, y = digits
    r = dg.explain.jacobian_chain(MLP(SHEET, seed=4), X[:3], y[:3])
    assert [c.name for c in r.consistency_checks] == [
        "every per-sample chain multiplies: 1×10 · 10×10 · 10×256 · 256×256 · 256×256 · "
        "256×256 · 256×784 → 1×784"]
    n = len(r.independent_checks)
    assert n == 7 and all(c.subject != c.oracle for c in r.independent_checks)
    for text in (str(r), r.to_markdown(), r.to_html(), r.to_latex()):
        assert f"checks: {n} of {n} pass" in text and "consistency: 1 of 1 hold" in text


# ----- every counted check fails when either of its sides is broken ----------------------------
def _scaled(fn, factor=1.01):
    return lambda *a, **k: np.asarray(fn(*a, **k)) * factor


def _break(source: str, mp: pytest.MonkeyPatch) -> None:
    """Perturb one computation by 1 %, where the report gets it from."""
    if source == "closed forms":
        for name in ("nll_jacobian", "softmax_jacobian", "activation_derivative",
                     "linear_input_jacobian", "linear_bias_jacobian", "weight_tensor"):
            mp.setattr(jac, name, _scaled(getattr(jac, name)))
    elif source == "NumPy forward":
        real = mlp_chain.numpy_forward

        def forward(*a, **k):
            v = real(*a, **k)
            return {**v, "L": v["L"] * 1.01}
        mp.setattr(mlp_chain, "numpy_forward", forward)
    elif source in ("dagrad forward", "dagrad reverse mode"):
        real_bp = mlp_chain.backprop

        def bp(*a, **k):
            out = real_bp(*a, **k)
            if source == "dagrad forward":
                out.losses = out.losses * 1.01
            else:
                out.adjoints = {n: g * 1.01 for n, g in out.adjoints.items()}
                out.grad_W1 = out.grad_W1 * 1.01
            return out
        mp.setattr(mlp_chain, "backprop", bp)
    elif source == "dg.jacobian":
        import dagrad.functional as functional

        real_j = functional.jacobian
        mp.setattr(functional, "jacobian", lambda f: _scaled(real_j(f)))
    elif source == "finite differences":
        real_fd = mlp_chain.directional_derivative

        def fd(*a, **k):
            out = real_fd(*a, **k)
            out.estimate *= 1.01
            return out
        mp.setattr(mlp_chain, "directional_derivative", fd)
    else:  # pragma: no cover - a new source needs a way to break it here
        raise AssertionError(f"no way to break {source!r}")


def test_every_counted_check_fails_when_either_side_is_broken():
    from dagrad.explain.mlp_jacobians.factors import SOURCES

    clean = small_report()
    assert clean.ok
    ind = {c.name: c for c in clean.independent_checks}
    caught: dict[str, set[str]] = {name: set() for name in ind}
    for source in SOURCES:
        with pytest.MonkeyPatch.context() as mp:
            _break(source, mp)
            broken = small_report()
        failed = {c.name for c in broken.independent_checks if not c.ok}
        uses = {n for n, c in ind.items() if source in (c.subject, c.oracle)}
        assert uses, f"no check uses {source!r}"
        assert uses <= failed, (source, sorted(uses - failed))
        assert not broken.ok
        for n in failed:
            caught[n].add(source)
    for name, c in ind.items():  # each side of each counted check was shown to matter
        assert {c.subject, c.oracle} <= caught[name], name


def test_a_wrong_tanh_rule_fails_the_report_and_the_command(monkeypatch, tmp_path, capsys):
    from dagrad.cli import main

    rule = OPS["tanh"].vjp
    monkeypatch.setattr(OPS["tanh"], "vjp", (lambda g, a, out: 3 * rule[0](g, a, out),))
    r = small_report()
    failed = [c for c in r.checks if not c.ok]
    assert failed and all(c.independent for c in failed)
    names = {c.name for c in failed}
    assert "∇_x L (fine): chain product vs backprop, max |Δ|" in names
    assert "J_z1(o1): closed form vs dg.jacobian of its step, max |Δ|" in names
    n = len(r.independent_checks)
    assert f"checks: {n - len(failed)} of {n} pass" in str(r)
    rc = main(["mlp-jacobians", "--no-dense", "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAILED: checks:" in out and "✗ ∇_x L (layer): chain product vs backprop" in out
