"""Every picture dagrad draws, measured in real Chromium: no label overlaps another, and each
label stays inside its node.  Graphviz 2.43 places each styled run of a label by its own width
estimate, so ``z<SUP>(1)</SUP> ∈ ℝ<SUP>256</SUP>`` came out garbled; labels now use Unicode
scripts in one run (checked against Unicode's own decompositions)."""

from __future__ import annotations

import os
import shutil
import unicodedata

import numpy as np
import pytest

import dagrad as dg
from dagrad.web.unicode_math import sub, sup

CHROMIUM = "/usr/bin/chromium"

# Every <text> of every SVG on the page: its box; pairs of boxes that overlap (more than a
# sliver: 1 px across and a third of the smaller height), and texts outside their node's shape.
MEASURE = """() => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {x0: r.left, x1: r.right, y0: r.top, y1: r.bottom}; };
  const overlaps = [], outside = [];
  let count = 0;
  document.querySelectorAll('svg').forEach(svg => {
    const texts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim())
      .map(t => ({t: t.textContent, g: t.closest('g.node'), ...box(t)}));
    count += texts.length;
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i], b = texts[j];
      const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
      const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
      if (w > 1 && h > Math.min(a.y1 - a.y0, b.y1 - b.y0) / 3) overlaps.push([a.t, b.t]);
    }
    for (const a of texts) {
      if (!a.g) continue;
      const shape = a.g.querySelector('polygon, ellipse, path');
      if (!shape) continue;
      const s = box(shape);
      if (a.x0 < s.x0 - 1 || a.x1 > s.x1 + 1) outside.push(a.t);
    }
  });
  return {count, overlaps, outside};
}"""


# ----- Unicode scripts ---------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["(1)", "256", "0123456789", "+-=()", "n", "i"])
def test_superscripts_decompose_to_the_text(text):
    assert unicodedata.normalize("NFKC", sup(text)).replace("−", "-") == text
    assert all(unicodedata.name(c).startswith(("SUPERSCRIPT", "MODIFIER LETTER SMALL"))
               for c in sup(text))


@pytest.mark.parametrize("text", ["(12)", "ij", "0123456789", "aehklmnopstx", "+-="])
def test_subscripts_decompose_to_the_text(text):
    assert unicodedata.normalize("NFKC", sub(text)).replace("−", "-") == text
    assert all("SUBSCRIPT" in unicodedata.name(c) for c in sub(text))


def test_a_character_without_a_script_form_is_named():
    with pytest.raises(ValueError, match="'y'"):
        sub("y")
    with pytest.raises(ValueError, match="'q'"):
        sup("q")
    assert sup("−1") == "⁻¹"


# ----- the pictures, in Chromium ------------------------------------------------------------------
@pytest.fixture(scope="module")
def page():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    pytest.importorskip("graphviz")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield browser.new_page(viewport={"width": 1600, "height": 1200})
        browser.close()


def _measure(page, path):
    page.goto(path.as_uri())
    found = page.evaluate(MEASURE)
    assert found["count"] > 3, f"{path.name}: no labels found"
    return found


@pytest.fixture(scope="module")
def mlp_report():
    rng = np.random.default_rng(0)
    model = dg.nn.MLP([784, 256, 256, 10], activation="tanh", output="softmax", seed=0)
    return dg.explain.jacobian_chain(model, rng.random(784), 3, dense=False)


@pytest.mark.parametrize("level", ["layer", "fine"])
def test_mlp_dag_labels_do_not_overlap(page, mlp_report, level, tmp_path):
    dot = mlp_report.dag_dot(level)
    assert "<SUP>" not in dot and "<SUB>" not in dot and "rankdir=TB" in dot
    assert "z⁽¹⁾ ∈ ℝ²⁵⁶" in dot and "∂z⁽²⁾/∂z⁽¹⁾" in dot or level == "fine"
    svg = tmp_path / f"dag-{level}.svg"
    mlp_report.render_dag(str(svg), level=level)
    found = _measure(page, svg)
    assert found["overlaps"] == [] and found["outside"] == []
    if level == "layer":  # top to bottom: narrower than an A4 page's text (≈ 510 pt)
        width = float(svg.read_text(encoding="utf-8").split('width="', 1)[1].split("pt", 1)[0])
        assert width < 510


def test_the_old_superscript_labels_are_caught(page, tmp_path):
    """The measurement fails on what Graphviz 2.43 made of <SUP> runs (a test that can fail)."""
    import graphviz

    dot = ('digraph g { node [fontname="Helvetica", fontsize=12]; '
           'z1 [label=<<B>z</B><SUP>(1)</SUP> ∈ ℝ<SUP>256</SUP><BR/>'
           'tanh(W<SUP>(1)</SUP>x + b<SUP>(1)</SUP>)>]; }')
    svg = tmp_path / "old.svg"
    svg.write_bytes(graphviz.Source(dot).pipe(format="svg"))
    found = _measure(page, svg)
    if graphviz.version()[:2] != (2, 43) and not found["overlaps"]:
        pytest.skip("this Graphviz lays out <SUP> runs correctly")
    assert found["overlaps"]


def test_rosenbrock_dag_labels_do_not_overlap(page, tmp_path):
    r = dg.explain.rosenbrock(1.5, 2.0)
    for fold in ("fold", "nodes"):
        svg = tmp_path / f"rosenbrock-{fold}.svg"
        r.graph.render(svg, constants=fold)
        found = _measure(page, svg)
        assert found["overlaps"] == [] and found["outside"] == [], fold


def test_expression_dag_and_stepper_labels_do_not_overlap(page, tmp_path):
    x = dg.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True, name="x")
    w = dg.tensor(0.3, requires_grad=True, name="w")
    out = dg.sum(dg.tanh(w * x) ** 2)
    out.backward()
    g = dg.graph(out)
    svg = tmp_path / "expr.svg"
    g.render(svg)
    found = _measure(page, svg)
    assert found["overlaps"] == [] and found["outside"] == []
    stepper = tmp_path / "stepper.html"
    g.to_html(stepper)
    found = _measure(page, stepper)
    assert found["overlaps"] == [] and found["outside"] == []
