"""German reports of exercises (a) and (b), dagrad graph's derivation and the worksheets.

Each report is rendered in both languages: the German has the course's terms and none of the
key English sentences, and the mathematics (every number, every display formula) is identical
to the English run.  The numbers themselves are checked against closed forms written out here
(∇ of Rosenbrock by hand, the sigmoid bound 4^-n), never against dagrad's own rules.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dagrad import i18n
from dagrad.explain import rosenbrock, worksheets
from dagrad.explain.vanishing_chain.scalar_chain import vanishing
from dagrad.explain.vanishing_chain.text import answer_text

NUMBER = re.compile(r"(?<![\w.#])[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def numbers(text: str) -> list[str]:
    """Every number in ``text`` as written (sorted: the prose around them may reorder)."""
    return sorted(m.replace("−", "-") for m in NUMBER.findall(text))


def displays(text: str) -> list[str]:
    """The display formulas ($$…$$) of a Markdown text."""
    return re.findall(r"\$\$.*?\$\$", text, flags=re.S)


@pytest.fixture(autouse=True)
def _language_restored(monkeypatch):
    monkeypatch.delenv("DAGRAD_LANG", raising=False)
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    yield
    i18n.set_language(None)


def both(render):
    """``render()`` in English and in German."""
    with i18n.use_language("en"):
        en = render()
    with i18n.use_language("de"):
        de = render()
    return en, de


def rosenbrock_gradient(x1: float, x2: float) -> tuple[float, float]:
    """∇f of f = 100(x2 − x1²)² + (1 − x1)², differentiated by hand."""
    return -400 * x1 * (x2 - x1**2) - 2 * (1 - x1), 200 * (x2 - x1**2)


# ----- exercise (b): the function's DAG -----------------------------------------------------
def test_rosenbrock_report_text_in_german_with_the_same_numbers():
    r = rosenbrock(1.5, 2.0)
    en, de = both(lambda: str(r))
    for term in ("Vorwärtsdurchlauf", "Rückwärtsdurchlauf", "Adjungierte", "Lokale Ableitungen "
                 "an den Kanten", "Kantenformeln", "Gradient", "Prüfungen: 3 von 3 bestanden",
                 "(Eingabe)"):
        assert term in de, term
    for english in ("Forward pass", "Reverse pass", "Local derivatives on the edges",
                    "from the output back to the inputs", "checks:", "pass", "by the chain rule",
                    "(input)", "Symbolic gradient"):
        assert english not in de, english
    assert numbers(de) == numbers(en)
    g1, g2 = rosenbrock_gradient(1.5, 2.0)
    assert f"∇f = (∂f/∂x1, ∂f/∂x2) = ({g1:g}, {g2:g})".replace("-", "−") in de


def test_rosenbrock_report_markdown_html_latex_in_german():
    r = rosenbrock(0.5, -1.0)
    md_en, md_de = both(r.to_markdown)
    assert "Die lokale Ableitung jeder Kante:" in md_de and "| Kante | lokale Ableitung |" in md_de
    assert "Every edge" not in md_de and "| edge |" not in md_de
    assert "∇f im Punkt" in md_de and "der von Hand hergeleitete Gradient" in md_de
    assert numbers(md_de) == numbers(md_en)
    html_en, html_de = both(r.to_html)
    assert "Rückwärtsdurchlauf, Knoten für Knoten" in html_de and "Reverse pass" not in html_de
    assert "durch Backpropagation" in html_de and "by backprop" not in html_de
    assert numbers(re.sub(r"<[^>]+>", " ", html_de)) == numbers(re.sub(r"<[^>]+>", " ", html_en))
    tex_en, tex_de = both(r.to_latex)
    assert r"\usepackage[ngerman]{babel}" in tex_de and "babel" not in tex_en
    assert "Prüfung" not in tex_en and "Formeln im Punkt: bestanden" in tex_de
    # the mathematics of the derivation is shared: the align* blocks are identical
    blocks = lambda t: re.findall(r"\\begin\{align\*\}.*?\\end\{align\*\}", t, flags=re.S)
    assert blocks(tex_de) == blocks(tex_en) and blocks(tex_en)
    g1, g2 = rosenbrock_gradient(0.5, -1.0)
    assert rf"$\partial f/\partial x1 = {g1:g}$" in tex_de
    assert rf"$\partial f/\partial x2 = {g2:g}$" in tex_de


def test_a_report_renders_in_the_language_active_when_rendered():
    with i18n.use_language("de"):
        r = rosenbrock()
    english = str(r)
    assert "Forward pass (evaluation order):" in english and "Vorwärtsdurchlauf" not in english
    assert r.checks[0].name == "∇f at the point"  # the check's key stays English
    with i18n.use_language("de"):
        assert "Vorwärtsdurchlauf (Auswertungsreihenfolge):" in str(r)
        assert r._repr_html_().count("Kante") >= 1
    i18n.set_language("de")
    assert "Prüfungen" in str(r)


def test_graph_derivation_in_german_ascii_and_unicode():
    import dagrad as dg

    x = dg.tensor(2.0, dtype="float64", requires_grad=True, name="x")
    y = dg.tensor(3.0, dtype="float64", requires_grad=True, name="y")
    g = dg.trace(lambda a, b: a * b + a, x, y)
    for unicode in (True, False):
        en, de = both(lambda u=unicode: g.derivation(unicode=u))
        assert "Vorwärtsdurchlauf (Auswertungsreihenfolge):" in de
        assert "Rückwärtsdurchlauf (Adjungierte" in de and "Gradient:" in de
        assert "Forward pass" not in de and "Reverse pass" not in de
        assert numbers(de) == numbers(en)
    # ∂(xy + x)/∂x = y + 1 = 4, ∂/∂y = x = 2, by hand
    assert "(4, 2)" in de
    tex_en, tex_de = both(g.to_latex)
    assert "% Rückwärtsdurchlauf: Adjungierte" in tex_de and "% reverse pass" in tex_en
    uncommented = lambda t: [ln for ln in t.splitlines() if not ln.startswith("%")]
    assert uncommented(tex_de) == uncommented(tex_en)


def test_stepper_notes_in_german():
    from dagrad.dag.steps import stepper_data

    r = rosenbrock()
    en, de = both(lambda: stepper_data(r.graph, "t"))
    notes_de = " ".join(s["note"] for s in de["steps"])
    assert "der Rückwärtsdurchlauf beginnt an der Ausgabe" in notes_de
    assert "die Kettenregel addiert ihre Beiträge" in notes_de
    assert "the chain rule" not in notes_de
    assert [s["text"].replace("(Eingabe)", "(input)") for s in de["steps"]] == \
        [s["text"] for s in en["steps"]]
    assert de["gradient"] == en["gradient"]


# ----- exercise (a): the vanishing chain ----------------------------------------------------
@pytest.fixture(scope="module")
def chain():
    return vanishing(8, ["sigmoid", "tanh", "relu", "leaky_relu:0.1"], seed=3)


def test_vanishing_text_in_german_with_the_same_numbers(chain):
    en, de = both(lambda: str(chain))
    for term in ("Kette h_i", "Schichten", "Autodiff gegen geschlossene Form", "Schranke gilt in "
                 "jeder Schicht", "Frage 2", "exponentiell", "geschlossene Form", "Befund"):
        assert term in de, term
    for english in ("layers", "closed form", "bound holds", "Question 2", "exponentially",
                    "flag", "measured"):
        assert english not in de, english
    assert numbers(de) == numbers(en)
    # the sigmoid's bound at w_1: 4^-n, by hand
    assert f"4^-8 = {4.0**-8:.3g}" in answer_text(chain) and f"4^-8 = {4.0**-8:.3g}" in de


def test_vanishing_derivation_in_german_shares_the_mathematics(chain):
    en, de = both(lambda: chain.derivation("markdown"))
    assert len(displays(de)) == len(displays(en)) == 4
    # the displays differ only in the words inside \text{…}
    strip = lambda t: re.sub(r"\\text\{[^}]*\}", "", t)
    assert [strip(d) for d in displays(de)] == [strip(d) for d in displays(en)]
    inline = lambda t: sorted(re.findall(r"(?<!\$)\$[^$]+\$(?!\$)", t))
    assert inline(de) == inline(en)
    for term in ("## Herleitung", "**1. Kettenregel.**", "**Antwort auf Frage 2:**",
                 r"\text{leeres Produkt}", "tote Kette", "Aktivierungsfunktion"):
        assert term in de, term
    assert "Chain rule" not in de and "Answer to question 2" not in de
    text_en, text_de = both(lambda: chain.derivation("text"))
    assert "Herleitung (Aufgabe a)" in text_de and "Derivation" not in text_de
    assert numbers(text_de) == numbers(text_en)
    # the formula lines of the text version are the same lines
    formula = lambda t: [re.sub(r"   [a-z]+,$", "", ln) for ln in t.splitlines()
                         if ln.startswith("     ")]
    assert formula(text_de) == formula(text_en)
    assert f"|x|·4^-8 = |x|·{4.0**-8:.3g}" in text_de


def test_vanishing_markdown_html_latex_in_german(chain):
    md_en, md_de = both(chain.to_markdown)
    assert md_de.startswith("# Verschwindende Gradienten in der Kette")
    assert "## Gemessen" in md_de and "## Measured" not in md_de
    assert numbers(md_de) == numbers(md_en)
    html_en, html_de = both(chain.to_html)
    assert "Verschwindende Gradienten" in html_de and "Vanishing" not in html_de
    assert numbers(re.sub(r"<[^>]+>", " ", html_de)) == numbers(re.sub(r"<[^>]+>", " ", html_en))
    tex_en, tex_de = both(chain.to_latex)
    assert r"\section*{Gemessen}" in tex_de and r"\usepackage[ngerman]{babel}" in tex_de
    assert "Schranke" in tex_de and "größte relative Abweichung" in tex_de  # umlauts kept
    assert numbers(tex_de.split(r"\section*{Gemessen}")[1]) == \
        numbers(tex_en.split(r"\section*{Measured}")[1])


def test_vanishing_flags_and_failures_in_german():
    rep = vanishing(3, ["relu"], weights=[-0.5, 0.5, 0.5])
    with i18n.use_language("de"):
        text = str(rep)
    assert "tot ab Schicht 1" in text and "tote Kette" in text
    assert rep["relu"].flags == ["dead", "dead", "dead"]  # the data stays English


# ----- worksheets --------------------------------------------------------------------------------
def test_worksheets_in_german_with_the_same_key(chain):
    en, de = both(lambda: worksheets.vanishing_chain(chain).text("only"))
    assert "Musterlösung" in de and "verschwindende Gradienten" in de and " key" not in de
    assert numbers(de) == numbers(en)
    for k, v in enumerate(chain["sigmoid"].closed, start=1):
        assert f"∂h_8/∂w_{k} = {float(v):.6g}".replace("-", "−") in de.replace("-", "−")
    off_en, off_de = both(lambda: worksheets.vanishing_chain(chain).text("off"))
    assert "Gegeben:" in off_de and "Auszufüllen:" in off_de and "Given" not in off_de
    assert "Arbeitsblatt" in off_de
    r = rosenbrock()
    key_en, key_de = both(lambda: worksheets.function_dag(r.graph, "f").text("only"))
    assert "der Rückwärtsdurchlauf: jede Adjungierte" in key_de
    assert "the backward pass" not in key_de
    assert numbers(key_de) == numbers(key_en)
    g1, g2 = rosenbrock_gradient(1.5, 2.0)
    assert f"x̄1 = {g1:g}" in key_de
    html_de = both(lambda: worksheets.function_dag(r.graph, "f").to_html("off"))[1]
    assert "<h3>Gegeben</h3>" in html_de and "<h3>Auszufüllen</h3>" in html_de


def _pdflatex(tex: str, tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.tex"
    path.write_text(tex, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", path.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    return (tmp_path / f"{name}.log").read_text(encoding="latin-1")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_german_latex_compiles_with_umlauts(tmp_path, chain):
    with i18n.use_language("de"):
        docs = {"b": rosenbrock().to_latex(), "a": chain.to_latex()}
    for name, tex in docs.items():
        assert "ü" in tex or "ä" in tex or "ö" in tex  # the umlauts kept, not "?"
        log = _pdflatex(tex, tmp_path, name)
        assert "ngerman" in log
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run([pdftotext, str(tmp_path / "b.pdf"), "-"], capture_output=True,
                              text=True).stdout
        assert "bestanden" in text and "Rückwärtsdurchlauf" not in text


def test_latex_text_keeps_german_letters():
    from dagrad.explain.report import latex_text

    assert latex_text("Prüfung für „Größe“ ≤ 1") == r"Prüfung für „Größe“ $\le$ 1"
    assert latex_text("日") == "?"


# ----- the commands -------------------------------------------------------------------------------
def _run(capsys, *argv: str) -> tuple[int, str]:
    from dagrad.cli import main

    code = main(list(argv))
    out = capsys.readouterr().out
    i18n.set_language(None)
    return code, out


def test_graph_command_in_german(capsys, monkeypatch):
    code_en, en = _run(capsys, "graph", "x*y + x", "--at", "x=2,y=3", "--lang", "en")
    code_de, de = _run(capsys, "graph", "x*y + x", "--at", "x=2,y=3", "--lang", "de")
    assert code_en == code_de == 0
    assert "Vorwärtsdurchlauf" in de and "Rückwärtsdurchlauf" in de and "Kettenregel" not in en
    assert "Forward pass" not in de and "Reverse pass" not in de
    assert numbers(de) == numbers(en)
    monkeypatch.setenv("DAGRAD_LANG", "de")
    code, env_de = _run(capsys, "graph", "x*y + x", "--at", "x=2,y=3")
    assert code == 0 and env_de == de


def test_rosenbrock_and_vanishing_commands_in_german(capsys, monkeypatch):
    code, de = _run(capsys, "rosenbrock", "--lang", "de")
    assert code == 0 and "Symbolischer Gradient" in de and "Lokale Ableitungen" in de
    assert "Symbolic gradient" not in de
    g1, g2 = rosenbrock_gradient(1.5, 2.0)
    assert f"∂f/∂x1 = {g1:g}" in de
    args = ("vanishing", "--depth", "5", "--seed", "2", "--derivation")
    code_en, en = _run(capsys, *args, "--lang", "en")
    monkeypatch.setenv("DAGRAD_LANG", "de")
    code_de, de = _run(capsys, *args)
    assert code_en == code_de == 0
    assert "Herleitung (Aufgabe a)" in de and "Frage 2" in de and "Question 2" not in de
    assert numbers(de) == numbers(en)
    code, key = _run(capsys, "vanishing", "--depth", "3", "--seed", "2", "--solutions", "only")
    assert code == 0 and "Musterlösung" in key


def test_solutions_help_in_german(capsys):
    from dagrad.cli import main

    with pytest.raises(SystemExit):
        main(["rosenbrock", "--lang", "de", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    i18n.set_language(None)
    assert "die ausgearbeitete Lösung" in out and "ein Arbeitsblatt zum Austeilen" in out
    assert "the worked solution" not in out


def test_numbers_helper_can_fail():
    assert numbers("a 1.5 b −2") == ["-2", "1.5"]
    assert numbers("x1 = 3") == ["3"]
    assert numbers("x = 1") != numbers("x = 2")
    assert not math.isnan(float(numbers("1e-07")[0]))
    assert np.isfinite(4.0**-8)


# ----- exercise (a) with --mlp and the plots --------------------------------------------------
def test_gradient_flow_report_in_german():
    from dagrad.explain.vanishing_chain.flow import gradient_flow

    rep = gradient_flow(depth=[2], activations=["tanh"], inits=["standard", "xavier"], width=8,
                        batch=16, steps=0, seed=0)
    en, de = both(lambda: str(rep))
    assert "Tiefe" in de and "Verhältnisse: erste versteckte Schicht" in de
    assert "depth" not in de and "real MNIST digits" not in de
    assert numbers(de) == numbers(en)
    md_en, md_de = both(rep.to_markdown)
    assert md_de.startswith("# Gradientenfluss in einem tiefen MLP")
    assert numbers(md_de) == numbers(md_en)
    tex = both(rep.to_latex)[1]
    assert "Gradientenfluss" in tex and r"\usepackage[ngerman]{babel}" in tex
    # the table's numbers are the cases' own ratios
    c = rep.cases[0]
    assert f"{c.ratio('backprop', 'init'):.3g}" in de


def _svg_text(path) -> str:
    return " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text(encoding="utf-8")))


def test_chain_plot_labels_in_german(tmp_path, chain):
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}):  # the words as <text>, not paths
        with i18n.use_language("de"):
            chain.plot(tmp_path / "de.svg")
        with i18n.use_language("en"):
            chain.plot(tmp_path / "en.svg")
    de, en = _svg_text(tmp_path / "de.svg"), _svg_text(tmp_path / "en.svg")
    # (the axis labels and title hold mathtext, drawn as paths; the legend is text)
    assert "relu: autodiff (tot ab Schicht 1)" in de and "relu: exakt 0 (unten gezeichnet)" in de
    assert "sigmoid: Schranke" in de and "bound" not in de and "dead" not in de
    assert "relu: autodiff (dead at layer 1)" in en and "sigmoid: bound" in en
    assert chain["relu"].dead_layer == 1 and chain["relu"].weights[0] * 1.0 < 0  # u_1 = w_1·x


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_worksheets_latex_compiles_with_pdflatex_in_both_languages(tmp_path, chain):
    r = rosenbrock()
    for lang in ("en", "de"):
        with i18n.use_language(lang):
            sheets = {"a": worksheets.vanishing_chain(chain), "b":
                      worksheets.function_dag(r.graph, "f = 100·(x2 − x1²)² + (1 − x1)²")}
            for name, sheet in sheets.items():
                for mode in ("off", "only"):
                    tex = sheet.to_latex(mode)
                    assert "fontspec" not in tex and "?" not in tex.replace(
                        "Where is", "")  # nothing the preamble cannot set
                    assert (r"\usepackage[ngerman]{babel}" in tex) == (lang == "de")
                    log = _pdflatex(tex, tmp_path, f"{name}-{mode}-{lang}")
                    assert "Missing character" not in log
    # the German key states the gradient by hand
    with i18n.use_language("de"):
        tex = worksheets.function_dag(r.graph, "f").to_latex("only")
    g1, _g2 = rosenbrock_gradient(1.5, 2.0)
    assert "Musterlösung" in tex and rf"$\bar{{x}}$1 = {g1:g}" in tex


def test_the_dag_picture_in_german():
    r = rosenbrock()
    en, de = both(r.dag_dot)
    assert ">Eingabe<" in de and ">Wert 1.5<" in de and ">input<" not in de
    assert ">input<" in en and ">value 1.5<" in en
    assert numbers(re.sub(r"<[^>]+>", " ", de)) == numbers(re.sub(r"<[^>]+>", " ", en))
    import dagrad as dg

    a = dg.tensor(np.ones(3), dtype="float64", requires_grad=True, name="a")
    g = dg.trace(lambda t: (t * t).sum(), a)
    with i18n.use_language("de"):
        dot = g.to_dot()
    assert "Form (3,)" in dot and "diagonal" in dot


def test_errors_of_exercise_a_in_german(capsys):
    from dagrad.expression import ExpressionError

    with i18n.use_language("de"):
        with pytest.raises(ValueError, match="n muss eine positive ganze Zahl sein"):
            vanishing(0)
        with pytest.raises(ValueError, match=r"eine Zahl oder 3 Zahlen sein .* Form \(2,\)"):
            vanishing(3, "tanh", weights=[0.5, 0.5])
        with pytest.raises(ExpressionError, match="weder ein bekannter Name"):
            vanishing(3, "x*y")
        with pytest.raises(ExpressionError, match="Steigung nach 'leaky_relu:' muss eine Zahl"):
            vanishing(3, "leaky_relu:abc")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        vanishing(0)
    from dagrad.cli import main

    code = main(["vanishing", "--depth", "3", "--activations", "x*y", "--lang", "de"])
    i18n.set_language(None)
    err = capsys.readouterr().err
    assert code == 2 and "weder ein bekannter Name" in err and "neither" not in err


# ----- the German reports as pages, printed in Chromium -----------------------------------------
CHROMIUM = "/usr/bin/chromium"
CONTENT_W = (210 - 28) / 25.4 * 96  # A4 less print.css's 14 mm margins, at 96 px/inch
WIDEST = """() => Math.max(...[...document.querySelectorAll('img, svg, table, pre, .katex-display')]
  .filter(e => !e.parentElement.closest('svg')).map(e => e.getBoundingClientRect().right))"""


@pytest.mark.skipif(not shutil.which("dot") or not shutil.which(CHROMIUM),
                    reason="needs Graphviz's dot and Chromium")
def test_german_reports_print_on_a4_in_chromium(tmp_path, chain):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    from dagrad.web import write_page

    r = rosenbrock()
    pages = {}
    with i18n.use_language("de"):
        pages["b"] = write_page(tmp_path / "b.html", "Rosenbrock", r.to_html())
        pages["a"] = write_page(tmp_path / "a.html", "a", chain.to_html())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            for name, path in pages.items():
                page = browser.new_page(viewport={"width": round(CONTENT_W), "height": 1000})
                page.emulate_media(media="print")
                page.goto(Path(path).resolve().as_uri())
                page.wait_for_load_state("load")
                text = page.evaluate("() => document.body.innerText")
                assert ("Rückwärtsdurchlauf, Knoten für Knoten" in text) == (name == "b")
                assert ("Verschwindende Gradienten" in text) == (name == "a")
                assert page.evaluate(WIDEST) <= CONTENT_W + 1, name
                page.close()
        finally:
            browser.close()


@pytest.mark.skipif(not shutil.which("dot") or not shutil.which(CHROMIUM),
                    reason="needs Graphviz's dot and Chromium")
def test_german_pdfs_of_rosenbrock_and_vanishing(tmp_path, capsys):
    pypdf = pytest.importorskip("pypdf")
    code, _out = _run(capsys, "rosenbrock", "--lang", "de", "--pdf", str(tmp_path / "b.pdf"))
    assert code == 0
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(tmp_path / "b.pdf").pages)
    g1, g2 = rosenbrock_gradient(1.5, 2.0)
    assert "Die lokale Ableitung jeder Kante" in text and "Rückwärtsdurchlauf" in text
    assert f"∂f/∂x1 = {g1:g}" in text and "Every edge" not in text
    code, _out = _run(capsys, "vanishing", "--depth", "6", "--activations", "sigmoid,tanh",
                      "--weights", "1", "--lang", "de", "--pdf", str(tmp_path / "a.pdf"))
    assert code == 0
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(tmp_path / "a.pdf").pages)
    assert "Verschwindende Gradienten" in text and "geschlossene Form" in text
    assert "closed form" not in text


def test_symbolic_errors_in_german():
    import dagrad as dg

    a = dg.tensor(np.ones(2), dtype="float64", requires_grad=True, name="a")
    g = dg.trace(lambda t: (t * t).sum(), a)
    with i18n.use_language("de"), pytest.raises(ValueError, match="skalaren Knoten; 'a' hat"):
        g.gradient_formula("a")
    with pytest.raises(ValueError, match="needs a graph of scalar nodes"):
        g.gradient_formula("a")


def test_where_the_weights_came_from_in_german():
    given = vanishing(13, "tanh", weights=[0.5] * 13)
    same = vanishing(13, "tanh", weights=0.25)
    with i18n.use_language("de"):
        assert worksheets.vanishing_chain(given).given[1] == \
            "Gewichte w_1..w_13: Gewichte vorgegeben"
        assert "w_i = 0.25 für jede Schicht" in str(same)
    assert "w_i = 0.25 for every layer" in str(same)
    assert same.weights_source == "w_i = 0.25 for every layer"  # the data stays English
