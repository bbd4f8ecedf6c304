"""The reports in real Chromium, on screen and on paper: KaTeX typesets every formula (no raw TeX
left), nothing is fetched (KaTeX and its fonts are inlined), no figure is wider or taller than an
A4 page's content box in print emulation, and the PDFs have a page per part with the part titles
and the gradient values in them (read back with pypdf)."""

from __future__ import annotations

import os
import re

import pytest

from dagrad.cli import main
from dagrad.web import html_page, tex, tex_display

CHROMIUM = "/usr/bin/chromium"
# A4 with print.css's margins (14 mm left and right, 15 + 16 mm top and bottom), at 96 px/inch
CONTENT_W = (210 - 28) / 25.4 * 96  # ≈ 688 px
CONTENT_H = (297 - 31) / 25.4 * 96  # ≈ 1005 px
RAW_TEX = ("\\frac", "^{", "_{", "\\(", "\\[", "\\partial", "\\nabla", "\\operatorname",
           "\\mathbb", "\\cdot")

VISIBLE_TEXT = """() => { const c = document.body.cloneNode(true);
  c.querySelectorAll('.katex-mathml, script, style').forEach(e => e.remove());
  return c.textContent; }"""
FIGURES = """() => [...document.querySelectorAll('img, svg')]
  .filter(e => !e.parentElement.closest('svg'))
  .map(e => { const r = e.getBoundingClientRect();
              return {what: e.tagName + ' ' + (e.getAttribute('src') || ''),
                      left: r.left, right: r.right, width: r.width, height: r.height}; })"""


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    pytest.importorskip("matplotlib")
    pytest.importorskip("sympy")
    out = tmp_path_factory.mktemp("tour")
    pdf = out / "tour.pdf"
    assert main(["tour", "-o", str(out / "report"), "--pdf", str(pdf)]) == 0
    return out / "report", pdf


class Opened:
    """A page opened offline: every request that is not a local file is refused and recorded."""

    def __init__(self, browser, path, print_media: bool = False):
        self.context = browser.new_context(viewport={"width": round(CONTENT_W), "height": 1000})
        self.outside: list[str] = []
        self.errors: list[str] = []

        def route(r):
            url = r.request.url
            if url.startswith(("file://", "data:")):
                return r.continue_()
            self.outside.append(url)
            return r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        if print_media:
            self.page.emulate_media(media="print")
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def close(self):
        self.context.close()


def figures_outside_the_page(page) -> list[dict]:
    wide = []
    for f in page.evaluate(FIGURES):
        if f["width"] == 0:
            continue
        if f["right"] > CONTENT_W + 1 or f["left"] < -1 or f["height"] > CONTENT_H + 1:
            wide.append(f)
    return wide


def _assert_typeset(opened: Opened, at_least: int) -> None:
    page = opened.page
    assert page.get_attribute("html", "data-math") == "typeset"
    assert page.locator(".katex").count() >= at_least
    assert page.locator(".katex-error").count() == 0
    text = page.evaluate(VISIBLE_TEXT)
    left = [t for t in RAW_TEX if t in text]
    assert left == [], f"raw TeX left in the visible text: {left}"
    assert opened.outside == [] and opened.errors == []


# ----- a small page: the helper, the negative controls -------------------------------------------
def test_tex_escapes_and_refuses_a_closing_delimiter():
    assert tex("a<b") == '<span class="dg-math">\\(a&lt;b\\)</span>'
    with pytest.raises(ValueError, match="closing delimiter"):
        tex(r"x \) <script>")
    with pytest.raises(ValueError, match="formula"):
        tex_display("  ")


def test_math_is_typeset_offline_and_a_wide_figure_scales(browser, tmp_path):
    wide = ('<svg width="1460pt" height="120pt" viewBox="0 0 1460 120">'
            '<rect width="1460" height="120" fill="#eee"/></svg>')
    softmax = tex(r"s_i = \frac{e^{o_i}}{\sum_k e^{o_k}}")
    body = (f"<p>softmax {softmax}</p>"
            + tex_display(r"\frac{\partial s_i}{\partial o_j} = s_i(\delta_{ij} - s_j)")
            + f'<div class="dg-figure">{wide}</div><p>a dollar stays: $5 and $6</p>')
    good = tmp_path / "good.html"
    good.write_text(html_page("t", body), encoding="utf-8")
    opened = Opened(browser, good, print_media=True)
    _assert_typeset(opened, 2)
    assert "$5 and $6" in opened.page.evaluate(VISIBLE_TEXT)
    assert figures_outside_the_page(opened.page) == []
    opened.close()
    # the same body without dagrad's page: raw TeX, and the figure overflows (the checks can fail)
    bare = tmp_path / "bare.html"
    bare.write_text(f"<!doctype html><html><body>{body}</body></html>", encoding="utf-8")
    opened = Opened(browser, bare, print_media=True)
    assert "\\frac" in opened.page.evaluate(VISIBLE_TEXT)
    assert figures_outside_the_page(opened.page)
    opened.close()


def test_a_page_without_formulas_carries_no_katex():
    page = html_page("plain", "<p>no formulas, 2^{3} as text</p>")
    assert "katex" not in page and "@page" in page and "size: A4" in page


# ----- the tour: index.html and c/report.html ----------------------------------------------------
@pytest.mark.slow
def test_tour_pages_typeset_offline(browser, tour):
    report, _ = tour
    for name, at_least in (("index.html", 20), ("c/report.html", 20)):
        opened = Opened(browser, report / name)
        _assert_typeset(opened, at_least)
        opened.close()


@pytest.mark.slow
def test_tour_figures_fit_a4_in_print(browser, tour, tmp_path):
    report, _ = tour
    for name in ("index.html", "c/report.html"):
        opened = Opened(browser, report / name, print_media=True)
        page = opened.page
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert len(page.evaluate(FIGURES)) >= (5 if name == "index.html" else 1)
        assert figures_outside_the_page(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= round(CONTENT_W) + 1
        shot = tmp_path / (name.replace("/", "-") + ".png")
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(shot.read_bytes()[16:20], "big")
        assert width == round(CONTENT_W)  # nothing pushed the page wider than the paper
        opened.close()


@pytest.mark.slow
def test_tour_pdf_has_a_page_per_part_and_the_numbers(tour):
    pypdf = pytest.importorskip("pypdf")
    from dagrad.tour.report import PARTS

    _, pdf = tour
    reader = pypdf.PdfReader(pdf)
    pages = [p.extract_text() for p in reader.pages]
    for p in reader.pages:
        assert float(p.mediabox.width) == pytest.approx(595.28, abs=1)
        assert float(p.mediabox.height) == pytest.approx(841.89, abs=1)
    assert len(pages) >= len(PARTS) + 1
    starts = [re.sub(r"\s+", " ", t).strip() for t in pages]
    first, *others = [title for _, title in PARTS.values()]
    # the first part follows the introduction on page 1; every other part starts a page
    assert starts[0].startswith("dagrad — the exercise sheet, worked") and first in starts[0]
    for title in others:
        hits = [k for k, t in enumerate(starts) if t.startswith(title)]
        assert hits, f"no page starts with {title!r}"
    text = re.sub(r"\s+", " ", " ".join(pages)).replace("−", "-")
    # ∇f(1.5, 2) by the closed form (−400·x1·(x2 − x1²) − 2(1 − x1), 200(x2 − x1²))
    x1, x2 = 1.5, 2.0
    g1, g2 = -400 * x1 * (x2 - x1**2) - 2 * (1 - x1), 200 * (x2 - x1**2)
    assert f"∇f = ({g1:g}, {g2:g})" in text
    assert "35 of 35 independent checks pass" in text or "independent checks pass" in text
    assert "/CreationDate" not in reader.metadata


# ----- the other commands' --pdf -----------------------------------------------------------------
@pytest.mark.slow
def test_rosenbrock_and_mlp_jacobians_pdf(tmp_path, capsys):
    pypdf = pytest.importorskip("pypdf")
    import shutil

    if shutil.which("dot") is None or not os.path.exists(CHROMIUM):
        pytest.skip("needs Graphviz's dot and Chromium")
    assert main(["rosenbrock", "--at", "x1=-1,x2=0.5", "--pdf", str(tmp_path / "r.pdf")]) == 0
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(tmp_path / "r.pdf").pages)
    text = text.replace("−", "-")
    x1, x2 = -1.0, 0.5  # the closed form again
    assert f"{-400 * x1 * (x2 - x1**2) - 2 * (1 - x1):g}" in text
    assert f"{200 * (x2 - x1**2):g}" in text and "Every edge" in text
    out = tmp_path / "mlp"
    assert main(["mlp-jacobians", "--no-dense", "-o", str(out), "--pdf",
                 str(tmp_path / "c.pdf")]) == 0
    reader = pypdf.PdfReader(tmp_path / "c.pdf")
    text = " ".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) >= 3 and "The Jacobians of the steps" in text
    assert "Bonus" in text and "softmax" in text


def test_vanishing_pdf(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    pytest.importorskip("matplotlib")
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Chromium")
    pdf = tmp_path / "v.pdf"
    assert main(["vanishing", "--depth", "6", "--activations", "sigmoid,tanh", "--weights", "1",
                 "--pdf", str(pdf)]) == 0
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    assert "σ = sigmoid" in text and "σ = tanh" in text


@pytest.mark.parametrize("command", [["tour", "--only", "b"], ["rosenbrock"],
                                     ["mlp-jacobians", "--no-dense"],
                                     ["vanishing", "--depth", "3"]])
def test_pdf_without_chromium_says_what_to_install_before_any_work(command, tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.delenv("DAGRAD_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "out"
    argv = [*command, "--pdf", str(tmp_path / "x.pdf")]
    if command[0] in ("tour", "mlp-jacobians"):
        argv += ["-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Chromium" in err and "apt-get install" in err and "chromium" in err
    assert not out.exists() and not (tmp_path / "x.pdf").exists()


def test_rosenbrock_report_typesets_its_symbolic_gradient(browser, tmp_path):
    import dagrad as dg
    from dagrad.web import write_page

    pytest.importorskip("sympy")
    r = dg.explain.rosenbrock(1.5, 2.0)
    path = tmp_path / "rosenbrock.html"
    write_page(path, r.title, r.to_html())
    opened = Opened(browser, path)
    _assert_typeset(opened, 2)
    notes = opened.page.evaluate("""() => [...document.querySelectorAll(
        '.katex annotation')].map(a => a.textContent)""")
    assert [n.split("=")[0].strip() for n in notes] == [
        r"\frac{\partial f}{\partial x_{1}}", r"\frac{\partial f}{\partial x_{2}}"]
    opened.close()
    # its inline DAG, wider than the paper as Graphviz lays it out, scales to it
    natural = float(re.search(r"max-width:([\d.]+)pt", r.to_html()).group(1)) * 96 / 72
    assert natural > CONTENT_W
    opened = Opened(browser, path, print_media=True)
    assert len(opened.page.evaluate(FIGURES)) == 1
    assert figures_outside_the_page(opened.page) == []
    opened.close()
