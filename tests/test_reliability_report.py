"""scripts/reliability.py reports what its run observed, never a figure typed into it.

Two kinds of check: the script's text carries no figure outside the inputs it names
(``INPUT_CONSTANTS``), and its observing functions quote the code's own messages and counts —
shown by changing what the code says (limits, Hypothesis's search space) and seeing the row
follow.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dagrad as dg

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "reliability.py"
#: Digits that name a type or a file format, not a measured figure.
NOT_FIGURES = re.compile(r"(u?int|float)(8|16|32|64)|idx[13]")


@pytest.fixture(scope="module")
def rel():
    """The script, imported as a module (it is not a package)."""
    spec = importlib.util.spec_from_file_location("reliability_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def literal_figures(source: str, allowed_constants: tuple[str, ...]) -> list[str]:
    """String literals (and constants formatted into f-strings) that carry digits.

    Skipped: docstrings, format specs (``:.1f``), and the module constants that hold the
    inputs the report shows verbatim.
    """
    tree = ast.parse(source)
    skip: set[int] = set()

    def skip_all(node: ast.AST) -> None:
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip_all(body[0])
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            skip_all(node.format_spec)
    for node in tree.body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else \
            getattr(node, "targets", [])
        if any(isinstance(t, ast.Name) and t.id in allowed_constants for t in targets):
            skip_all(node)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                re.search(r"\d", NOT_FIGURES.sub("", node.value)):
            found.append(node.value)
        if isinstance(node, ast.FormattedValue) and isinstance(node.value, ast.Constant):
            found.append(repr(node.value.value))
    return found


def test_the_script_types_no_figure(rel):
    assert literal_figures(SCRIPT.read_text(), rel.INPUT_CONSTANTS) == []


def test_the_scan_finds_typed_figures():
    """The scan itself catches what the old script did."""
    source = '''
X = "9**9**9"
def rows():
    """Docstring 2024."""
    n = 5
    return [("drawing", "a 5,001-node graph", f"{n:,} in {3.0:.1f} s", f"{5001}"),
            ("jac", "20,000 × 20,000 float32 (1.5 GiB)", "limit 1 GiB", "float64")]
'''
    assert sorted(literal_figures(source, ("X",))) == sorted([
        "a 5,001-node graph", "5001", "3.0", "20,000 × 20,000 float32 (1.5 GiB)", "limit 1 GiB"])


def test_fuzz_rows_count_the_examples_hypothesis_executed(rel):
    """Two booleans exist: Hypothesis runs 2 examples however many it is asked for."""
    @settings(max_examples=50, database=None)
    @given(st.booleans())
    def two_values(b):
        assert b in (True, False)

    executed, exc, _ = rel.run_fuzz(two_values)
    assert exc is None
    assert executed == 2 != two_values._hypothesis_internal_use_settings.max_examples

    @settings(max_examples=30, database=None)
    @given(st.integers(0, 10**6))
    def many(n):
        assert n >= 0

    assert rel.run_fuzz(many)[0] == 30


def test_a_failing_fuzzer_is_reported_not_counted_as_agreement(rel):
    @settings(max_examples=20, database=None)
    @given(st.integers(0, 100))
    def fails(n):
        assert n < 50

    executed, exc, _ = rel.run_fuzz(fails)
    assert isinstance(exc, AssertionError)


def test_drawing_row_quotes_the_limit_in_force(rel, monkeypatch):
    monkeypatch.setenv("DAGRAD_MAX_DRAW_NODES", "123")
    g = dg.graph(rel.chain(100))
    with pytest.raises(ValueError) as info:
        g.to_dot()
    row = rel.drawing_row(rel.Quoter(), 100)
    assert f"“{info.value}”" in row.outcome and row.ok
    assert f"({len(g.nodes):,} nodes)" in row.tried
    assert "123" in row.outcome


def test_jacobian_row_quotes_the_refusal_the_code_raises(rel, monkeypatch):
    import numpy as np

    monkeypatch.setenv("DAGRAD_DENSE_LIMIT", "5000")  # read by the row's child process
    with dg.dense_limit(5000):
        with pytest.raises(dg.MemoryLimitError) as info:
            dg.jacobian(lambda t: t * 2)(np.ones(100))
    row = rel.jacobian_refusal_row(rel.Quoter(), 100)
    assert row.ok and f"MemoryLimitError: “{info.value}”" in row.outcome
    assert "100 × 100 float64" in row.tried


def test_corrupt_file_rows_quote_messages_naming_each_file(rel, tmp_path):
    rows = rel.corrupt_file_rows(tmp_path, rel.Quoter(str(tmp_path)))
    assert rows and all(r.ok for r in rows), [r.outcome for r in rows if not r.ok]
    assert all(r.outcome.startswith("ValueError: “$TMP/broken-") for r in rows)


def test_child_peak_rss_is_measured(rel):
    report, child = rel.measure("x = np.ones(25_000_000)\nresult = float(x.sum())")
    assert report["error"] is None and report["result"] == 25_000_000.0
    grew_mib = (report["peak_kib"] - report["before_kib"]) / 1024
    assert grew_mib > 150  # 190.7 MiB of float64 ones


def test_hostile_file_rows_are_refusals_in_bounded_memory(rel, tmp_path):
    rows = rel.hostile_file_rows(tmp_path, rel.Quoter(str(tmp_path)), quick=True)
    assert all(r.ok for r in rows), [r.outcome for r in rows if not r.ok]
    assert any("junk.npy" in r.outcome for r in rows)


def test_render_flags_unexpected_rows(rel):
    rows = [rel.Row("t", "tried", 1, "fine"), rel.Row("t", "tried", 2_000, "odd", ok=False)]
    text = rel.render(rows, quick=True, seconds=1.0)
    assert "**1 rows are not the expected outcome**" in text
    assert "| t | tried | 2,000 | ✗ odd |" in text
