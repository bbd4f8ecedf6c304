"""dagrad check / dg.check in German: verdicts, diagnoses, tables, errors and --help under
--lang de or DAGRAD_LANG=de, with the same numbers and formulas as the English run."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from dagrad import check
from dagrad.cli import main
from dagrad.i18n import set_language, use_language

pytest.importorskip("sympy")

ROSENBROCK = "100*(x2 - x1**2)**2 + (1 - x1)**2"
LANGUAGE_VARIABLES = ("DAGRAD_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


@pytest.fixture(autouse=True)
def english_by_default(monkeypatch):
    """Every test starts with no language set anywhere (English) and leaves none set."""
    for var in LANGUAGE_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    set_language(None)
    yield
    set_language(None)


# one wrong answer of each kind: (argv, German words that must appear, English sentences that
# must not)
WRONG = [
    (["gradient", ROSENBROCK, "--wrt", "x1", "--answer", "-200*x1*(x2 - x1**2) - 2*(1 - x1)"],
     ["um den Faktor 2 daneben", "prüfen Sie x1 → v1 (∂v1/∂x1 = 2·x1)", "der Pfad",
      "trägt", "Diagnose:", "Bewertung:   FALSCH"],
     ["off by a factor", "look at", "contributes", "the path", "diagnosis:", "WRONG"]),
    (["gradient", "x1*x2 + x1**2", "--wrt", "x1", "--answer", "x2"],
     ["Ihre Antwort hat keinen Term dafür", "die Kettenregel summiert über alle Pfade"],
     ["the chain rule sums every path", "has no term"]),
    (["edges", ROSENBROCK, "--edge", "v1->v2=1", "--edge", "x1->v1=x1"],
     ["das Vorzeichen ist falsch", "Kante", "lokale Ableitungen", "um den Faktor 2 daneben"],
     ["the sign is wrong", "local derivatives", "edge's derivative"]),
    (["adjoints", ROSENBROCK, "--at", "x1=1.5,x2=2", "--adjoint", "x1=150",
      "--adjoint", "v2=-40"],
     ["die erste falsche Adjungierte in der Reihenfolge des Rückwärtsdurchlaufs",
      "richtig wäre -50", "Adjungierte", "korrigieren Sie zuerst"],
     ["should be", "backward order", "first wrong adjoint"]),
    (["sizes", "--quantity", "grad_x", "--sizes", "1x10 · 10x256 · 784x256"],
     ["das Produkt ist nicht definiert", "Spalten des linken Faktors",
      "Ketten des Übungsblatts", "auf Ebene der Schichten"],
     ["cannot be followed", "the sheet's chains", "layer level"]),
    (["jacobian", "tanh", "--answer", "diag(1 - z**2)"],
     ["Sie haben z geschrieben, wo die Ausgabe s hingehört", "Jacobi-Matrix",
      "Aktivierungsfunktion"],
     ["you wrote z", "the Jacobian"]),
    (["jacobian", "softmax", "--answer", "diag(s)"],
     ["der Term − s @ sᵀ fehlt", "Einträge am ersten Punkt"],
     ["is missing", "entries at the first point"]),
    (["bound", "--activation", "sigmoid", "--bound", "abs(h0)/4", "--trials", "200"],
     ["Gegenbeispiel", "übersteigt Ihre Schranke", "Rückwärtsmodus"],
     ["counterexample", "exceeds your bound", "evaluations"]),
]

RIGHT = [
    ["gradient", ROSENBROCK, "--wrt", "x1", "--answer", "-400*x1*(x2 - x1**2) - 2*(1 - x1)"],
    ["edges", ROSENBROCK, "--edge", "v2->v3=2*v2"],
    ["adjoints", ROSENBROCK, "--at", "x1=1.5,x2=2", "--adjoint", "v2=-50"],
    ["sizes", "--quantity", "grad_x", "--sizes", "1x10 · 10x256 · 256x256 · 256x784"],
    ["jacobian", "softmax", "--answer", "diag(s) - s @ sᵀ"],
    ["bound", "--activation", "relu", "--bound", "abs(h0)", "--trials", "200"],
]

NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:[.,/]\d+)*(?:e[-+]?\d+)?")
MATH = set("∂·²³→×≠≤∇σ√")


def numbers(text: str) -> Counter:
    """Every number in the text, as a multiset (word order differs between the languages)."""
    return Counter(NUMBER.findall(text))


def formulas(text: str) -> Counter:
    """Every blank-separated piece of mathematics (a token with ∂, ·, →, ², …)."""
    return Counter(t.strip(",;:()") for t in text.split() if MATH & set(t))


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(["check", *argv])
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv, german, english", WRONG, ids=[a[0] for a, _, _ in WRONG])
def test_a_wrong_answer_is_explained_in_german(capsys, argv, german, english):
    code_en, out_en, _ = run(capsys, argv)
    code_de, out_de, _ = run(capsys, [*argv, "--lang", "de"])
    assert code_en == code_de == 1
    for words in german:
        assert words in out_de, words
    for words in english:
        assert words in out_en, words  # the sentence exists in English ...
        assert words not in out_de, words  # ... and is translated
    assert numbers(out_de) == numbers(out_en)
    assert formulas(out_de) == formulas(out_en)


@pytest.mark.parametrize("argv", RIGHT, ids=[a[0] for a in RIGHT])
def test_a_right_answer_in_german(capsys, argv, monkeypatch):
    code_en, out_en, _ = run(capsys, argv)
    monkeypatch.setenv("DAGRAD_LANG", "de")  # the environment's language, no --lang
    code_de, out_de, _ = run(capsys, argv)
    assert code_en == code_de == 0
    assert "Bewertung:   RICHTIG" in out_de and "Frage:" in out_de
    assert "verdict:" not in out_de and "RIGHT" not in out_de
    assert "verdict:  RIGHT" in out_en
    assert numbers(out_de) == numbers(out_en)
    assert formulas(out_de) == formulas(out_en)


def test_the_readme_quotes_the_german_diagnosis(capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    code, out, _ = run(capsys, [*WRONG[0][0], "--lang", "de"])
    assert code == 1
    first = next(line for line in out.splitlines() if line.startswith("  - der Pfad"))
    assert first in readme


def test_the_english_default_is_unchanged(capsys, monkeypatch):
    monkeypatch.setenv("LANG", "C.UTF-8")
    code, out, _ = run(capsys, WRONG[0][0])
    assert code == 1
    assert out.startswith("question: ∂f/∂x1 of f = ")
    assert "off by a factor 2 (yours is half of it) — look at x1 → v1" in out
    assert not set("äöüß") & set(out)


@pytest.mark.parametrize("argv, german", [
    (["gradient", "x1*x2", "--wrt", "y", "--answer", "1"], "die Variablen des Ausdrucks"),
    (["gradient", "x1*", "--wrt", "x1", "--answer", "1"], "der Ausdruck 'x1*'"),
    (["gradient", "x1", "--wrt", "x1", "--answer", "1+"], "die Antwort '1+'"),
    (["edges", "3", "--edge", "a->b=1"], "der Ausdruck '3' hat keine Variablen"),
    (["gradient", "x1*x2", "--wrt", "x1", "--answer", "z"], "die Antwort verwendet z"),
    (["edges", ROSENBROCK, "--edge", "v2->v9=1"], "kein Knoten 'v9'; die Knoten des DAG"),
    (["edges", ROSENBROCK, "--edge", "v2=1"], "erwartet wird QUELLE->ZIEL=ABLEITUNG"),
    (["adjoints", ROSENBROCK, "--at", "x1=1.5", "--adjoint", "v2=1"], "bei --at fehlt x2"),
    (["sizes", "--quantity", "grad_x", "--sizes", "one by ten"], "ist nicht lesbar"),
    (["sizes", "--quantity", "grad_x", "--sizes", "1x10", "--sizes-of", "a,b"],
     "durch Kommas getrennte Schichtgrößen"),
    (["jacobian", "softmax", "--answer", "__import__('os')"], "nicht erlaubt"),
    (["jacobian", "softmax", "--answer", "s", "--dim", "40"], "zwischen 2 und 16"),
    (["bound", "--activation", "sigmoid", "--bound", "abs(y)"], "die Schranke verwendet y"),
    (["gradient", "x1", "--wrt", "x1"], "die folgenden Argumente fehlen"),
])
def test_errors_are_german(capsys, argv, german):
    code, _, err = run(capsys, [*argv, "--lang", "de"])
    assert code == 2
    assert german in err
    code_en, _, err_en = run(capsys, argv)
    assert code_en == 2 and german not in err_en


def test_help_is_german(capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", "--lang", "de", "--help"])
    assert e.value.code == 0
    top = " ".join(capsys.readouterr().out.split())
    assert "Ihre eigene Lösung prüfen" in top and "Beispiele:" in top
    assert "examples:" not in top and "check your own answer" not in top
    for kind, words in (("gradient", "welcher Pfad der Kettenregel fehlt"),
                        ("edges", "Ihre Ableitung"), ("adjoints", "Rückwärtsdurchlaufs"),
                        ("sizes", "Schichtgrößen des MLP"), ("jacobian", "Jacobi-Matrix"),
                        ("bound", "Gegenbeispiel")):
        with pytest.raises(SystemExit):
            main(["check", kind, "--help", "--lang", "de"])
        text = " ".join(capsys.readouterr().out.split())  # as argparse wraps it
        assert words in text, kind
        assert "Aufruf:" in text and "Optionen:" in text and "--lang {en,de}" in text
        assert "usage:" not in text and "(default" not in text


def test_markdown_file_is_german(tmp_path, capsys):
    path = tmp_path / "r.md"
    code, out, _ = run(capsys, ["sizes", "--quantity", "grad_x", "--sizes", "1x10 · 10x256",
                                "--markdown", str(path), "--lang", "de"])
    assert code == 1 and f"{path} geschrieben" in out
    md = path.read_text(encoding="utf-8")
    assert md.startswith("### Prüfung sizes: FALSCH")
    assert "- Bewertung: **falsch**" in md and "Diagnose:" in md
    assert "Diagnosis" not in md and "verdict" not in md


def _german_gradient():
    with use_language("de"):
        return check.gradient(ROSENBROCK, "x1", "-200*x1*(x2 - x1**2) - 2*(1 - x1)")


def test_the_report_keeps_the_language_it_was_checked_in():
    r = _german_gradient()  # rendered outside the block: still German
    assert r.language == "de" and r.verdict == "wrong" and not r.ok  # the API stays English
    assert set(r.values) == {"yours", "right", "dagrad backprop"}
    text = str(r)
    assert text.startswith("Prüfung gradient: FALSCH") and "um den Faktor 2" in text
    md = r.to_markdown()
    assert "Diagnose:" in md and "Bei x1=" in md and "Ihre Antwort " in md
    html = r._repr_html_()
    assert "lang='de'" in html and "<h4>Diagnose</h4>" in html and "Pfad" in html
    # an English report stays English under German
    en = check.gradient(ROSENBROCK, "x1", "-200*x1*(x2 - x1**2) - 2*(1 - x1)")
    with use_language("de"):
        assert str(en).startswith("check gradient: WRONG") and "Diagnose" not in en.to_markdown()
    assert r.values == en.values and r.point == en.point
    assert formulas(str(r)) == formulas(str(en)) and numbers(str(r)) == numbers(str(en))


def test_ascii_lines_spell_out_german_letters():
    lines = _german_gradient().lines(unicode=False)
    text = "\n".join(lines)
    assert text.isascii() and "pruefen Sie" in text and "dv1/dx1" in text


def test_german_latex_keeps_its_letters():
    tex = _german_gradient().to_latex()
    assert r"\title{Pr\"ufung gradient: FALSCH}" in tex
    assert r"tr\"agt" in tex and r"pr\"ufen Sie" in tex
    assert "?" not in tex.split(r"\begin{document}")[1]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_german_latex_compiles(tmp_path):
    with use_language("de"):
        r = check.adjoints(ROSENBROCK, ["x1=150", "v2=-40"], at="x1=1.5,x2=2")
    (tmp_path / "r.tex").write_text(r.to_latex(), encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "r.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "r.pdf").stat().st_size > 0
    log = (tmp_path / "r.log").read_text(encoding="latin-1")
    assert "Missing character" not in log
