"""The backprop stepper in a real browser: headless Debian Chromium driven by Playwright.

The page for the Rosenbrock DAG is opened from a file:// URL; the tests press the buttons and
keys, read the values and adjoints the page shows (data attributes), compare them with dagrad's,
take a screenshot, and check that a hostile variable name is shown as text and runs nothing.
"""

from __future__ import annotations

import os
import shutil
import struct

import pytest

import dagrad as dg

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = "<img src=x onerror=alert(1)>"
PWN = '<img src=x onerror="window.__pwned=1">'

ROWS = """() => Array.from(document.querySelectorAll('#dg-table tr[data-node]')).map(r => ({
    name: r.dataset.node, value: r.dataset.value ?? null, adjoint: r.dataset.adjoint ?? null,
    computed: r.dataset.computed === 'true'}))"""


def rosen(x1, x2):
    return 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright)")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


class Page:
    """A page on a fresh context that records dialogs, errors and every request."""

    def __init__(self, browser, path):
        self.context = browser.new_context(viewport={"width": 1440, "height": 820})
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.as_uri()
        self.page.goto(self.url)

    def rows(self) -> dict[str, dict]:
        return {r["name"]: r for r in self.page.evaluate(ROWS)}

    def step(self) -> int:
        return int(self.page.get_attribute("body", "data-step"))

    def next_until_end(self, key: bool = False) -> int:
        clicks = 0
        while not self.page.is_disabled("#dg-next"):
            if key:
                self.page.keyboard.press("ArrowRight")
            else:
                self.page.click("#dg-next")
            clicks += 1
            assert clicks < 200
        return clicks


@pytest.fixture(scope="module")
def rosen_graph():
    return dg.trace(rosen, 1.5, 2.0)


@pytest.fixture(scope="module")
def rosen_html(rosen_graph, tmp_path_factory):
    path = tmp_path_factory.mktemp("stepper") / "rosenbrock.html"
    rosen_graph.to_html(path)
    return path


@pytest.fixture
def rosen_page(browser, rosen_html):
    p = Page(browser, rosen_html)
    yield p
    p.context.close()


def test_backward_pass_gives_dagrads_adjoints(rosen_page, rosen_graph):
    p = rosen_page
    assert p.step() == -1
    p.page.click("#dg-backward-pass")
    first_back = p.step()
    assert p.page.get_attribute("body", "data-phase") == "backward"
    rows = p.rows()
    assert all(r["computed"] for r in rows.values())  # every value known before going back
    assert rows["f"]["adjoint"] == "1" and rows["x1"]["adjoint"] is None
    p.next_until_end()
    assert p.step() == first_back + 10
    rows = p.rows()
    assert float(rows["x1"]["adjoint"]) == 151.0
    assert float(rows["x2"]["adjoint"]) == -50.0
    for n in rosen_graph.nodes:
        if n.kind == "const":
            assert n.name not in rows
            continue
        assert float(rows[n.name]["adjoint"]) == pytest.approx(float(n.grad), abs=1e-12)
        svg_adj = p.page.get_attribute(f"#dg-n{n.index}", "data-adjoint")
        assert float(svg_adj) == pytest.approx(float(n.grad), abs=1e-12)
    assert "151" in p.page.text_content("#dg-step-note")  # the gradient, at the end
    assert p.page.is_visible("#a_dg-n0-adjoint")
    assert p.errors == [] and p.dialogs == []


def test_partial_adjoint_then_sum(rosen_page):
    p = rosen_page
    p.page.click("#dg-backward-pass")
    while "term 1 of 2" not in p.page.text_content("#dg-step-note"):
        p.page.click("#dg-next")
    x1 = p.page.locator('#dg-table tr[data-node="x1"]')
    assert x1.get_attribute("data-adjoint") is None
    assert x1.get_attribute("data-partial") == "1"
    assert p.page.is_hidden("#a_dg-n0-adjoint")  # not final: not on the node yet
    p.page.keyboard.press("End")
    assert p.page.text_content("#dg-step-text") == "x̄1 = 150 + 1 = 151"
    assert x1.get_attribute("data-adjoint") == "151"


def test_forward_pass_values_in_order_with_keys(rosen_page, rosen_graph):
    p = rosen_page
    p.page.click("#dg-reset")
    rows = p.rows()
    assert not any(r["computed"] for r in rows.values())
    assert "dg-pending" in p.page.get_attribute("#dg-n0", "class")
    order = [n for n in rosen_graph.nodes if n.kind != "const"]
    for k, n in enumerate(order):
        p.page.keyboard.press("ArrowRight")
        rows = p.rows()
        assert rows[n.name]["computed"], n.name
        assert float(rows[n.name]["value"]) == pytest.approx(float(n.value))
        later = [m.name for m in order[k + 1:]]
        assert not any(rows[m]["computed"] for m in later)
        assert "dg-pending" not in p.page.get_attribute(f"#dg-n{n.index}", "class")
    assert p.page.get_attribute("body", "data-phase") == "forward"
    assert p.page.text_content("#dg-step-text") == "f = v4 + v6 = 6.5"
    p.page.keyboard.press("ArrowLeft")
    assert not p.rows()["f"]["computed"]
    p.page.keyboard.press("Home")
    assert p.step() == -1
    clicks = p.next_until_end(key=True)
    assert clicks == 20 and float(p.rows()["x1"]["adjoint"]) == 151
    p.page.click("#dg-back")
    assert p.step() == 18
    p.page.click("#dg-forward-pass")
    assert p.step() == 0


def test_hover_shows_formula_and_value(rosen_page, rosen_graph):
    p = rosen_page
    p.page.click("#dg-backward-pass")
    edge = next(k for k, e in enumerate(rosen_graph.edges) if (e.source, e.target) == ("x1", "v1"))
    p.page.hover(f"#dg-e{edge} path")
    tip = p.page.text_content("#dg-tip")
    assert p.page.is_visible("#dg-tip")
    assert "∂v1/∂x1 = 2·x1" in tip and "= 3 at this point" in tip and "LaTeX: 2 x_{1}" in tip
    v2 = rosen_graph["v2"].index
    p.page.hover(f"#dg-n{v2} text")
    tip = p.page.text_content("#dg-tip")
    assert "v2 = x2 − v1" in tip and "value −0.25" in tip
    p.page.mouse.move(1, 1)
    assert p.page.is_hidden("#dg-tip")


def test_screenshot_mid_backward(rosen_page, tmp_path):
    p = rosen_page
    p.page.click("#dg-backward-pass")
    for _ in range(6):
        p.page.click("#dg-next")
    shot = tmp_path / "stepper.png"
    p.page.screenshot(path=str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1440, 820)
    assert len(data) > 30_000


def test_page_fetches_nothing(rosen_page):
    p = rosen_page
    p.next_until_end()
    assert p.requests == [p.url]


@pytest.mark.parametrize("name", [HOSTILE, PWN])
def test_hostile_name_is_text_and_runs_nothing(browser, tmp_path, name):
    x = dg.tensor(1.5, requires_grad=True, dtype="float64", name=name)
    y = dg.tensor(2.0, requires_grad=True, dtype="float64", name="y")
    g = dg.trace(lambda a, b: a * b + a, x, y)
    path = tmp_path / "evil.html"
    g.to_html(path, title=f"f = {name}")
    p = Page(browser, path)
    try:
        p.next_until_end()
        p.page.hover(f"#dg-n{g[name].index} text")
        p.page.wait_for_timeout(150)
        assert p.dialogs == []
        assert p.page.evaluate("() => window.__pwned === undefined")
        count = "() => document.querySelectorAll('img, script:not([id])').length"
        assert p.page.evaluate(count) == 1  # the stepper's own script, no <img>
        assert name in p.page.text_content("#dg-title")
        assert name in p.page.text_content("#dg-graph svg")
        assert name in p.page.text_content("#dg-tip")
        assert p.page.get_attribute(f"#dg-n{g[name].index}", "data-node") == name
        assert float(p.rows()[name]["adjoint"]) == pytest.approx(3.0)
        assert p.errors == []
    finally:
        p.context.close()
