"""The tour page claims exactly the independent checks its parts report, with their oracles."""

from __future__ import annotations

import numpy as np
import pytest

from dagrad.cli import main
from dagrad.ops import OPS
from dagrad.tour.report import Check, Section, headline, write_report


def _section(key, title, checks, ok=True):
    return Section(key, title, [f"summary of {key}"], f"<p>{key}</p>", f"text of {key}",
                   [], ok, checks=checks)


def test_headline_and_page_list_exactly_the_reported_checks(tmp_path):
    a = _section("a", "(a) first", [
        Check("dy/dx", "dagrad reverse mode", "hand-derived 2x", True, kind="a closed form"),
        Check("d2y/dx2", "dagrad hessian", "central differences in float64", False,
              detail="off by 3", kind="finite differences")], ok=False)
    b = _section("b", "(b) second", [])
    text = headline([a, b])
    assert text.startswith("1 of 2 independent checks pass ((a) 2: 1 against a closed form, "
                           "1 against finite differences)")
    assert "Listed without independent checks: (b) second." in text
    assert "closed form" not in text.split("(a) 2:")[0]  # no claim beyond the list
    assert a.status() == "1 of 2 independent checks pass — CHECK FAILED, see below"
    assert b.status() == "no independent checks listed; expected results hold"
    index = write_report(tmp_path, [a, b], 1.0).read_text()
    assert index.count("<h3>Independent checks</h3>") == 1
    for needle in ("hand-derived 2x", "central differences in float64", "off by 3", "✗ FAILED"):
        assert needle in index
    md = (tmp_path / "report.md").read_text()
    assert "- ✓ dy/dx: dagrad reverse mode vs hand-derived 2x" in md
    assert "- ✗ FAILED d2y/dx2" in md and text in md


def test_no_checks_no_claim():
    assert headline([_section("t", "Training", [])]) == \
        "No part of this report lists an independent check."


def test_a_check_needs_a_different_oracle():
    with pytest.raises(ValueError, match="different oracle"):
        Check("x", "dagrad reverse mode", "dagrad reverse mode", True)


def test_tour_part_a_fails_with_a_broken_sigmoid_rule(monkeypatch, tmp_path, capsys):
    """sigmoid's reverse-mode rule multiplies by 0: part (a) fails, and `dagrad tour` exits 1."""
    monkeypatch.setattr(OPS["sigmoid"], "vjp", (lambda g, a, out: g * 0,))
    assert main(["tour", "-o", str(tmp_path / "r"), "--only", "a"]) == 1
    out = capsys.readouterr().out
    assert "CHECK FAILED: σ = sigmoid" in out and "underflow" not in out
    assert "4 of 5 independent checks pass" in out
    index = (tmp_path / "r" / "index.html").read_text()
    assert "CHECK FAILED" in index and "✗ FAILED" in index


def test_tour_part_a_fails_with_a_wrong_abs_rule(monkeypatch, tmp_path, capsys):
    """abs's rule 3× too large: the softsign activation's check (σ' from SymPy) fails."""
    monkeypatch.setattr(OPS["abs"], "vjp", (lambda g, a, out: 3 * g * np.sign(a),))
    assert main(["tour", "-o", str(tmp_path / "r"), "--only", "a"]) == 1
    assert "CHECK FAILED: σ = x / (1 + abs(x))" in capsys.readouterr().out
