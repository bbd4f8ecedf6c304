"""The exercise's pages in real Chromium, printed on A4: typeset, offline, nothing cut off."""

from __future__ import annotations

import os
import shutil

import pytest

from dagrad.cli import main

CHROMIUM = "/usr/bin/chromium"
CONTENT_W = (210 - 28) / 25.4 * 96  # A4 less print.css's 14 mm margins, in CSS px (≈ 688)
RAW_TEX = ("\\frac", "^{", "_{", "\\(", "\\[", "\\partial", "\\nabla", "\\operatorname",
           "\\mathbb", "\\begin{aligned}")
VISIBLE_TEXT = """() => { const c = document.body.cloneNode(true);
  c.querySelectorAll('.katex-mathml, script, style').forEach(e => e.remove());
  return c.textContent; }"""
TOO_WIDE = """(limit) => [...document.querySelectorAll(
    'svg, img, table, .dg-display, .katex-display')]
  .filter(e => !e.parentElement.closest('svg'))
  .map(e => ({what: e.tagName + '.' + e.className, right: e.getBoundingClientRect().right,
              scroll: e.scrollWidth, client: e.clientWidth}))
  .filter(r => r.right > limit + 1 || r.scroll > r.client + 1)"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    out = tmp_path_factory.mktemp("w3")
    assert main(["exercise", "--seed", "3", "--lang", "de", "-o", str(out)]) == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield browser, out
        browser.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sheet.html", "key.html"])
def test_page_prints_typeset_and_within_a4(pages, name):
    browser, out = pages
    context = browser.new_context(viewport={"width": round(CONTENT_W), "height": 1000})
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(("file://", "data:")):
            return r.continue_()
        outside.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.emulate_media(media="print")
    page.goto((out / name).as_uri())
    page.wait_for_function("document.documentElement.getAttribute('data-math') === 'typeset'")
    text = page.evaluate(VISIBLE_TEXT)
    assert not [t for t in RAW_TEX if t in text], text[:400]
    assert page.locator(".katex-error").count() == 0
    assert page.evaluate(TOO_WIDE, CONTENT_W) == []
    assert outside == [] and errors == []
    assert ("Musterlösung" if name == "key.html" else "Aufgabenstellung") in text
    context.close()
