"""dagrad.pdf.write_pdf in real headless Chromium: A4 pages, the page's text, page breaks,
fixed metadata (the same HTML gives the same bytes), atomic writes, and clear errors."""

from __future__ import annotations

import os
import sys

import pytest

from dagrad.pdf import PdfError, PdfUnavailable, find_chromium, write_pdf

pypdf = pytest.importorskip("pypdf")

A4_POINTS = (595.28, 841.89)  # 210 mm × 297 mm at 72 pt per inch

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Blatt 7 — Lösung</title>
<style>@page {{ size: A4; margin: 15mm }} .part {{ break-before: page }}</style></head>
<body><h1>Teil (a)</h1><p>gradient {value}</p>
<section class="part"><h1>Teil (b)</h1><p id="js">static</p></section>
<section class="part"><h1>Teil (c)</h1></section>
<script>document.getElementById('js').textContent = 'written by script ' + (6 * 7);</script>
</body></html>"""


def needs_chromium():
    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(PAGE.format(value="-0.40760817"), encoding="utf-8")
    return path


def test_pages_text_paper_and_metadata(page, tmp_path):
    needs_chromium()
    out = write_pdf(page, tmp_path / "page.pdf")
    assert out == tmp_path / "page.pdf"
    reader = pypdf.PdfReader(out)
    assert len(reader.pages) == 3  # two forced page breaks
    for p in reader.pages:
        assert float(p.mediabox.width) == pytest.approx(A4_POINTS[0], abs=1.0)
        assert float(p.mediabox.height) == pytest.approx(A4_POINTS[1], abs=1.0)
    texts = [p.extract_text() for p in reader.pages]
    assert "Teil (a)" in texts[0] and "-0.40760817" in texts[0]
    assert "Teil (b)" in texts[1] and "written by script 42" in texts[1]  # scripts ran first
    assert "Teil (c)" in texts[2]
    meta = dict(reader.metadata)
    assert meta["/Title"] == "Blatt 7 — Lösung"
    assert "/CreationDate" not in meta and "/ModDate" not in meta
    assert "Chrome" not in meta.get("/Creator", "") + meta.get("/Producer", "")
    assert b"CreationDate" not in out.read_bytes()
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_same_html_same_bytes_different_html_different_bytes(page, tmp_path):
    needs_chromium()
    first = write_pdf(page, tmp_path / "1.pdf").read_bytes()
    second = write_pdf(page, tmp_path / "2.pdf").read_bytes()
    assert first == second
    other = tmp_path / "other.html"
    other.write_text(PAGE.format(value="0.25"), encoding="utf-8")
    assert write_pdf(other, tmp_path / "3.pdf").read_bytes() != first


def test_no_chromium_says_what_to_install(page, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGRAD_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    with pytest.raises(PdfUnavailable, match=r"apt-get install chromium.*DAGRAD_CHROMIUM"):
        write_pdf(page, tmp_path / "page.pdf")
    assert not (tmp_path / "page.pdf").exists()


def test_a_bad_dagrad_chromium_is_named(page, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGRAD_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(PdfUnavailable, match="no-such-browser"):
        write_pdf(page, tmp_path / "page.pdf")


def test_a_browser_that_fails_keeps_the_old_file(page, tmp_path, monkeypatch):
    old = tmp_path / "page.pdf"
    old.write_bytes(b"old")
    monkeypatch.setenv("DAGRAD_CHROMIUM", "/bin/false")
    with pytest.raises(PdfError, match=r"exit 1.*page\.html"):
        write_pdf(page, old)
    assert old.read_bytes() == b"old"


def test_no_pypdf_says_what_to_install(page, tmp_path, monkeypatch):
    needs_chromium()
    monkeypatch.setitem(sys.modules, "pypdf", None)  # import pypdf raises ImportError
    with pytest.raises(PdfUnavailable, match=r"dagrad\[pdf\]"):
        write_pdf(page, tmp_path / "page.pdf")
    assert not (tmp_path / "page.pdf").exists()


def test_missing_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="nope.html"):
        write_pdf(tmp_path / "nope.html", tmp_path / "x.pdf")
    (tmp_path / "p.html").write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(ValueError, match="no-dir"):
        write_pdf(tmp_path / "p.html", tmp_path / "no-dir" / "x.pdf")


def test_a_page_with_typeset_formulas_prints_the_same_bytes_twice(tmp_path):
    """KaTeX's fonts are embedded too: the same page (formulas included) gives the same bytes."""
    needs_chromium()
    from dagrad.web import html_page, tex, tex_display

    page = tmp_path / "math.html"
    page.write_text(html_page("Lösung", f"<p>{tex(r'e^{o_i}')}</p>" + tex_display(
        r"\frac{\partial L}{\partial z_j} = -\frac{\delta_{jy}}{z_y}")), encoding="utf-8")
    first = write_pdf(page, tmp_path / "1.pdf").read_bytes()
    assert write_pdf(page, tmp_path / "2.pdf").read_bytes() == first
    reader = pypdf.PdfReader(tmp_path / "1.pdf")
    fonts = {str(f.get_object().get("/BaseFont", "")) for p in reader.pages
             for f in (p["/Resources"].get("/Font") or {}).values()}
    assert any("KaTeX" in f for f in fonts), fonts  # typeset with KaTeX's fonts, not raw TeX


def test_pdf_and_web_sit_low_and_stay_out_of_import_dagrad():
    """dagrad.web and dagrad.pdf import only dagrad.atomic (and each other, web never pdf at
    import time); ``import dagrad`` loads neither, nor pypdf."""
    import ast
    import subprocess
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "dagrad"
    for path in [src / "pdf.py", *sorted((src / "web").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = "web" if path.parent.name == "web" and node.level == 1 else ""
                target = ".".join(p for p in (base, node.module or "") if p)
                assert target.split(".")[0] in ("atomic", "web", "pdf") or base, (path, target)
    code = ("import sys, dagrad; print(sorted(m for m in sys.modules if m.startswith("
            "('dagrad.web', 'dagrad.pdf', 'pypdf'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
