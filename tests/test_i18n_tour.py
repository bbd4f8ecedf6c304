"""German under --lang de / DAGRAD_LANG=de for the stepper page (buttons, quiz feedback, hints,
score, in headless Chromium), the (c) report of ``dg.explain.jacobian_chain`` and ``dagrad
mlp-jacobians``, and the tour (every part's page, titles, the printed PDF).  The numbers and
formulas are the English run's; only the prose changes, and it uses the course's terms."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import dagrad as dg
from dagrad.cli import main
from dagrad.i18n import use_language
from test_stepper_browser import Page, browser, rosen  # noqa: F401 - browser is a fixture

X1, X2 = 1.5, 2.0


def _data(path) -> dict:
    return json.loads(re.search(r'id="dg-data">(.*?)</script>', path.read_text()).group(1))


# ----- the stepper page -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The Rosenbrock quiz page written by the CLI in German and in English."""
    d = tmp_path_factory.mktemp("stepper")
    out = {}
    for lang in ("de", "en"):
        path = d / f"quiz-{lang}.html"
        assert main(["rosenbrock", "--lang", lang, "--html", str(path), "--quiz",
                     "-o", str(d / f"r-{lang}.svg")]) == 0
        out[lang] = path
    return out


def test_stepper_page_is_german_and_its_numbers_are_the_english_ones(pages):
    de, en = pages["de"].read_text(), pages["en"].read_text()
    assert '<html lang="de">' in de and '<html lang="en">' in en
    for word in ("Vorwärtsdurchlauf", "Rückwärtsdurchlauf", "Zurücksetzen", "Werte und "
                 "Adjungierte", "Lösung zeigen", "Hinweis", "Knoten"):
        assert word in de, word
    for sentence in (">Forward pass<", ">Backward pass<", ">Show answer<", ">Reset<",
                     "Values and adjoints"):
        assert sentence in en and sentence not in de, sentence
    d_de, d_en = _data(pages["de"]), _data(pages["en"])
    assert d_de["ui"]["ready"] == "Bereit" and d_en["ui"]["ready"] == "Ready"
    # the same questions with the same answers; the prompts keep the mathematics
    q_de, q_en = d_de["quiz"]["questions"], d_en["quiz"]["questions"]
    assert [q["answer"] for q in q_de] == [q["answer"] for q in q_en]
    assert [q["prompt"].split(" ")[0] for q in q_de] == [q["prompt"].split(" ")[0] for q in q_en]
    assert all("an dieser Stelle" in q["prompt"] for q in q_de if q["kind"] == "edge")
    # the closed form, not dagrad: x̄1 = −400·x1·(x2 − x1²) − 2(1 − x1)
    x1 = next(q for q in q_de if q["prompt"].startswith("x̄1"))
    assert x1["answer"] == pytest.approx(-400 * X1 * (X2 - X1**2) - 2 * (1 - X1))
    assert "(ein Term je ausgehender Kante)" in x1["hint"]


def test_stepper_in_chromium_speaks_german(browser, pages):  # noqa: F811 - the fixture
    p = Page(browser, pages["de"])
    try:
        page = p.page
        assert page.text_content("#dg-phase") == "Bereit"
        assert page.text_content("#dg-next").strip() == "Weiter"
        assert "Schritte vorwärts" in page.text_content("#dg-gradient")
        page.click("#dg-forward-pass")
        assert page.text_content("#dg-phase").startswith("Vorwärtsdurchlauf · Schritt 1 von")
        page.click("#dg-backward-pass")
        page.click("#dg-next")  # the first edge of the backward pass is asked
        assert page.is_visible("#dg-quiz")
        assert page.text_content("#dg-step-text").startswith("Ihre Aufgabe: Wie groß ist ∂f/∂v")
        assert "beantworten Sie die Frage" in page.text_content("#dg-steps li.dg-current")
        page.fill("#dg-answer", "12345")
        page.click("#dg-check")
        fb = page.text_content("#dg-feedback")
        assert fb.startswith("✗ 12345 ist nicht ∂f/∂v") and "Hinweis" in fb
        page.fill("#dg-answer", "zwei")
        page.click("#dg-check")
        assert "als Zahl nicht lesbar" in page.text_content("#dg-feedback")
        page.click("#dg-hint-button")
        assert page.text_content("#dg-hint").startswith("Hinweis: ")
        assert "Leiten Sie nach" in page.text_content("#dg-hint")
        page.fill("#dg-answer", "1")  # ∂f/∂v4 = ∂f/∂v6 = 1: f = v4 + v6
        page.click("#dg-check")
        assert page.get_attribute("#dg-feedback", "data-verdict") == "right"
        assert page.text_content("#dg-feedback").startswith("✓ richtig: ∂f/∂v")
        score = page.text_content("#dg-score")
        assert score.startswith("Punktestand: 1 richtig von 1 beantwortet")
        assert "falsche Versuche: 1" in score and "Hinweise: 1" in score
        page.click("#dg-reveal")
        assert page.text_content("#dg-feedback").startswith("die Lösung: ")
        english = page.evaluate("document.body.innerText")
        for sentence in ("Your turn", "try again", "score:", "Show answer", "Values and "
                         "adjoints", "Backward pass"):
            assert sentence not in english, sentence
        assert p.errors == [] and all(u.startswith("file:") for u in p.requests)
    finally:
        p.context.close()


def test_dagrad_lang_environment_sets_the_page_language(tmp_path):
    path = tmp_path / "s.html"
    env = {"DAGRAD_LANG": "de", "PATH": "/usr/bin:/bin"}
    dagrad = str(Path(sys.executable).with_name("dagrad"))
    run = subprocess.run([dagrad, "rosenbrock", "--html", str(path), "-o", str(tmp_path / "r.svg")],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Vorwärtsdurchlauf" in path.read_text()


def test_graph_to_html_follows_use_language(tmp_path):
    g = dg.trace(rosen, X1, X2)
    with use_language("de"):
        g.to_html(tmp_path / "de.html")
    g.to_html(tmp_path / "en.html")
    nodes_de, nodes_en = _data(tmp_path / "de.html")["nodes"], _data(tmp_path / "en.html")["nodes"]
    assert [(n["name"], n["value"], n["adjoint"]) for n in nodes_de] == \
        [(n["name"], n["value"], n["adjoint"]) for n in nodes_en]
    assert "Rückwärtsdurchlauf" in (tmp_path / "de.html").read_text()
    assert "Rückwärtsdurchlauf" not in (tmp_path / "en.html").read_text()


# ----- the (c) report: dg.explain.jacobian_chain and dagrad mlp-jacobians -----------------------
NUMBER = re.compile(r"(?<![A-Za-z_])-?\d+(?:[.,]\d+)*(?:e[+-]?\d+)?")


def _numbers(text: str) -> list[str]:
    return sorted(NUMBER.findall(text.replace("−", "-")))


@pytest.fixture(scope="module")
def chain_report():
    """A small MLP's Jacobian chain (tanh, biases, softmax output) on one input."""
    import numpy as np

    model = dg.nn.MLP([6, 5, 4, 3], activation="tanh", output="softmax", seed=3)
    x = np.random.default_rng(0).normal(size=6)
    return dg.explain.jacobian_chain(model, x, 2, dense=True)


def _displays(text: str) -> list[str]:
    """The display formulas \\[ … \\], the words inside \\text{…} left out."""
    return [re.sub(r"\\text\{[^}]*\}", "", d) for d in re.findall(r"\\\[.*?\\\]", text, re.S)]


def _without_timings(md: str) -> str:
    return md.split("\n## Timings")[0].split("\n## Laufzeiten")[0]


def test_jacobian_chain_report_renders_german_with_the_same_numbers(chain_report):
    r = chain_report
    with use_language("de"):
        md, tex, page, text = r.to_markdown(), r.to_latex(), r.to_html(), str(r)
    md_en, tex_en, page_en = r.to_markdown(), r.to_latex(), r.to_html()
    assert "## Laufzeiten" in md and "## Timings" in md_en
    for term in ("Jacobi-Matrizen", "Kettenregel", "Rückwärtsdurchlauf", "Adjungierte",
                 "Aktivierungsfunktion", "Quotientenregel", "Diagonalmatrix", "Prüfungen",
                 "| geschlossene Formen | dagrads Rückwärtsmodus |", "Zähler-Layout",
                 "## Laufzeiten", "Bonus (dichter Tensor)"):
        assert term in md, term
    for sentence in ("The Jacobians of the steps", "Numerator layout", "vector–Jacobian "
                     "product (a 1", "Consistency facts hold", "Computations named",
                     "chain product vs backprop", "the chain rule, with the gradient",
                     "hidden activation", "predicted class"):
        assert sentence in md_en and sentence not in md, sentence
        assert sentence not in text and sentence not in page
    # only the prose changed: every number, every display formula and every product is the same
    assert _numbers(_without_timings(md)) == _numbers(_without_timings(md_en))
    assert re.findall(r"\$\$.*?\$\$", md) == re.findall(r"\$\$.*?\$\$", md_en)
    assert _displays(tex) == _displays(tex_en)
    assert _displays(page) == _displays(page_en)
    assert "\\text{wählt aus }" in tex and "\\text{selects }" in tex_en  # the one word in a formula
    assert "\\usepackage[ngerman]{babel}" in tex or "ngerman" in tex
    # the check results are the report's, whatever the language
    ind = r.independent_checks
    assert f"Prüfungen: {len(ind)} von {len(ind)} bestanden" in md and r.ok


def test_german_latex_of_the_chain_compiles(chain_report, tmp_path):
    import shutil

    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    with use_language("de"):
        (tmp_path / "c.tex").write_text(chain_report.to_latex(), encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "c.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "c.pdf").stat().st_size > 0


def test_batch_report_is_german():
    import numpy as np

    model = dg.nn.MLP([5, 4, 3], activation="sigmoid", output=None, seed=1)
    X = np.random.default_rng(1).normal(size=(3, 5))
    r = dg.explain.jacobian_chain(model, X, np.array([0, 2, 1]))
    with use_language("de"):
        md = r.to_markdown()
    md_en = r.to_markdown()
    assert "Gradienten je Beispiel" in md and "Per-sample gradients" not in md
    assert "Per-sample gradients" in md_en
    assert _numbers(md) == _numbers(md_en)


def test_mlp_jacobians_cli_writes_german(tmp_path, capsys):
    out = tmp_path / "mj"
    assert main(["mlp-jacobians", "--lang", "de", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Aufgabe (c): der Gradient des MLP als Kette von Jacobi-Matrizen")
    assert "[Schichtebene]" in printed and "max |Kette − Backpropagation|" in printed
    assert '<html lang="de">' in (out / "report.html").read_text()
    assert "Die Jacobi-Matrizen der Schritte" in (out / "report.md").read_text()


def test_render_dag_error_is_german(chain_report, tmp_path):
    with use_language("de"), pytest.raises(ValueError, match="unbekannter Bildtyp '.gif'"):
        chain_report.render_dag(str(tmp_path / "d.gif"))


# ----- the tour: every part's page, the index, the PDF ----------------------------------------
@pytest.fixture(scope="module")
def tours(tmp_path_factory):
    """The whole tour in German with its PDF, and (b), (c) in English."""
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    pytest.importorskip("matplotlib")
    pytest.importorskip("sympy")
    d = tmp_path_factory.mktemp("tour")
    pdf = d / "de.pdf"
    args = ["--pdf", str(pdf)] if shutil.which("chromium") or Path(
        "/usr/bin/chromium").exists() else []
    assert main(["tour", "--lang", "de", "-o", str(d / "de")] + args) == 0
    assert main(["tour", "--lang", "en", "--only", "b,c", "-o", str(d / "en")]) == 0
    return d / "de", d / "en", (pdf if args else None)


def test_tour_index_and_parts_are_german(tours):
    de, en, _pdf = tours
    index = (de / "index.html").read_text()
    assert '<html lang="de">' in index
    for words in ("dagrad — das Übungsblatt, durchgerechnet", "(a) Verschwindende Gradienten "
                  "in einer tiefen Kette", "(b) Die Rosenbrock-Funktion als DAG",
                  "(c) Der Gradient des MLP als Kette von Jacobi-Matrizen",
                  "Unabhängige Prüfungen", "unabhängigen Prüfungen bestanden", "Dateien:",
                  "Die lokale Ableitung jeder Kante", "Kettenregel, symbolisch",
                  "Training des MLP des Übungsblatts auf echten Ziffern", "Trainingsverlust",
                  "Epochen auf 8.000 mitgelieferten MNIST-Ziffern"):
        assert words in index, words
    for sentence in ("the exercise sheet, worked", "independent checks pass", "Independent "
                     "checks", "Every edge’s local derivative", "files:"):
        assert sentence not in index, sentence
    md = (de / "report.md").read_text()
    assert md.startswith("# dagrad — das Übungsblatt, durchgerechnet")
    assert "**Unabhängige Prüfungen**" in md
    # the stepper page of (b) and the (c) report are German too
    assert "Vorwärtsdurchlauf" in (de / "b" / "stepper.html").read_text()
    assert '<html lang="de">' in (de / "c" / "report.html").read_text()
    # the same numbers and pictures as the English run
    c_de, c_en = (de / "c" / "report.tex").read_text(), (en / "c" / "report.tex").read_text()
    assert _displays(c_de) == _displays(c_en)
    assert (de / "c" / "dag.svg").read_bytes() == (en / "c" / "dag.svg").read_bytes()
    maths = [re.findall(r"\\begin\{align\*\}.*?\\end\{align\*\}", (d / "b" / "derivation.tex")
                        .read_text(), re.S) for d in (de, en)]
    assert maths[0] and maths[0] == maths[1]


def test_tour_pdf_is_german_with_the_english_numbers(tours):
    pypdf = pytest.importorskip("pypdf")
    de, en, pdf = tours
    if pdf is None:
        pytest.skip("Chromium is not installed")
    reader = pypdf.PdfReader(pdf)
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    text = text.replace("−", "-")
    for ligature, letters in (("ﬀ", "ff"), ("ﬁ", "fi"), ("ﬂ", "fl"), ("ﬃ", "ffi"), ("ﬄ", "ffl")):
        text = text.replace(ligature, letters)  # as the PDF's font sets them
    assert text.startswith("dagrad — das Übungsblatt, durchgerechnet")
    for title in ("(a) Verschwindende Gradienten in einer tiefen Kette",
                  "(b) Die Rosenbrock-Funktion als DAG",
                  "(c) Der Gradient des MLP als Kette von Jacobi-Matrizen",
                  "Training des MLP des Übungsblatts auf echten Ziffern"):
        assert title in text, title
    # ∇f(1.5, 2) by the closed form (−400·x1·(x2 − x1²) − 2(1 − x1), 200(x2 − x1²))
    g1, g2 = -400 * X1 * (X2 - X1**2) - 2 * (1 - X1), 200 * (X2 - X1**2)
    assert f"∇f = ({g1:g}, {g2:g}) durch Backpropagation" in text
    # (c): the loss of the English run's sample line, in the German PDF
    loss = re.search(r"L = −log z3_y = ([\d.]+)", (en / "c" / "report.md").read_text()).group(1)
    assert loss in text
    assert "unabhängigen Prüfungen bestanden" in text and "independent checks" not in text
    assert len(reader.pages) >= 4  # a page per part at least


def test_tour_pages_print_on_a4_in_chromium(browser, tours, tmp_path):  # noqa: F811
    from test_print_pages import Opened, _assert_typeset, figures_outside_the_page

    de, _en, _pdf = tours
    for name in ("index.html", "c/report.html"):
        opened = Opened(browser, de / name, print_media=True)
        _assert_typeset(opened, 20)
        page = opened.page
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert figures_outside_the_page(page) == []
        shot = tmp_path / (name.replace("/", "-") + ".png")
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        opened.close()


def test_tour_help_and_unknown_part_are_german(capsys):
    with pytest.raises(SystemExit):
        main(["tour", "--lang", "de", "--help"])
    assert "Optionen" in capsys.readouterr().out
    with use_language("de"), pytest.raises(ValueError, match="unbekannter Teil z"):
        from dagrad.tour import run_tour

        run_tour(Path("/nonexistent-never-written"), ["z"], log=lambda s: None)


def test_jacobian_chain_input_errors_are_german():
    import numpy as np

    model = dg.nn.MLP([4, 3, 2], activation="tanh", seed=0)
    with use_language("de"), pytest.raises(ValueError, match=r"Klasse 5 liegt außerhalb von "
                                                             r"0\.\.1 — Klassen werden ab 0"):
        dg.explain.jacobian_chain(model, np.zeros(4), 5)
    with use_language("de"), pytest.raises(ValueError, match=r"x muss die Form \(4,\) für "
                                                             r"eine Eingabe"):
        dg.explain.jacobian_chain(model, np.zeros(3), 0)
    with pytest.raises(ValueError, match=r"label 5 is outside 0\.\.1"):
        dg.explain.jacobian_chain(model, np.zeros(4), 5)
