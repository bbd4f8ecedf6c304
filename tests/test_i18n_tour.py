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
    subprocess.run([dagrad, "rosenbrock", "--html", str(path),
                    "-o", str(tmp_path / "r.svg")], check=True, env=env, capture_output=True)
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
