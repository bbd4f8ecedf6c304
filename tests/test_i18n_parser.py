"""German for the expression parser's, the student notation's, the graph limits' and the .npz
reader's messages: ``dagrad graph --lang de`` (and ``DAGRAD_LANG=de``) refuses in German with
the same columns, names and numbers as in English, and echoes ``gelesen als:``; English is
unchanged (the exact English texts are also pinned by test_expression, test_student_notation,
test_graph_limits and test_hostile_files)."""

from __future__ import annotations

import re
import zipfile

import pytest

from dagrad.cli import main
from dagrad.dag.limit import DRAW, GraphTooLargeError, too_large_svg
from dagrad.expression import ExpressionError, parse, parse_assignments
from dagrad.i18n import use_language
from dagrad.npz import NpzReader


def _graph(capsys, argv: list[str]) -> tuple[int, str]:
    """Run ``dagrad graph`` in-process; the language setting is restored afterwards."""
    with use_language(None):
        try:
            code = main(["graph", *argv])
        except SystemExit as e:
            code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


def _facts(text: str) -> list[str]:
    """What must not change with the language: quoted snippets, numbers and formulas."""
    return re.findall(r"(?<![A-Za-z])'[^']*'|\d+|[A-Za-z0-9_]+\([^()]*\)", text)


# (expression, German words that must appear, English words that must not)
CASES = [
    ("x1 +* 2", ["ungültige Syntax", "in Spalte 5"], ["invalid syntax", "at column"]),
    ("sin(x", ["ungültige Syntax", "wird nie geschlossen"], ["was never closed"]),
    ("foo(x)", ["unbekannte Funktion 'foo'", "bekannt:", "für ein Produkt schreiben Sie"],
     ["unknown function", "known:", "for a product"]),
    ("sinx", ["ist mehrdeutig", "schreiben Sie sin(x)", "Namen einer Funktion"],
     ["is ambiguous", "write", "function's name"]),
    ("2^3^2", ["ist mehrdeutig: schreiben Sie 2^(3^2) oder (2^3)^2"], ["ambiguous", " or "]),
    ("x**True", ["Konstante True ist nicht erlaubt", "in Spalte 4"], ["not allowed", "column"]),
    ("ex + 1", ["Namen einer Konstanten", "oder exp(x)"], ["constant's name", " or exp"]),
    ("2 3", ["zwei Zahlen ohne Operator"], ["two numbers"]),
    ("|x", ["wird nicht geschlossen"], ["unmatched"]),
    ("x.real", ["Attributzugriff ist nicht erlaubt"], ["attribute access"]),
]


@pytest.mark.parametrize("expression, german, english", CASES, ids=[c[0] for c in CASES])
def test_graph_refuses_in_german_with_the_same_columns_and_names(capsys, expression, german,
                                                                  english):
    code_en, text_en = _graph(capsys, [expression, "--lang", "en"])
    code_de, text_de = _graph(capsys, [expression, "--lang", "de"])
    assert code_en == code_de == 2
    assert "error:" in text_en and "Fehler:" in text_de
    for word in german:
        assert word in text_de, (word, text_de)
    for word in english:
        assert word not in text_de, (word, text_de)
    assert _facts(text_en) == _facts(text_de), (text_en, text_de)


def test_graph_refuses_in_german_from_dagrad_lang(capsys, monkeypatch):
    monkeypatch.setenv("DAGRAD_LANG", "de")
    code, text = _graph(capsys, ["2^3^2"])
    assert code == 2
    assert "ist mehrdeutig: schreiben Sie" in text and "is ambiguous" not in text


def test_read_as_line_is_german_with_the_same_reading(capsys, tmp_path):
    argv = ["2x^2 + x^y", "--at", "x=1,y=2", "--no-symbolic", "-o", str(tmp_path / "g.dot")]
    code_en, text_en = _graph(capsys, [*argv, "--lang", "en"])
    code_de, text_de = _graph(capsys, [*argv, "--lang", "de"])
    assert code_en == code_de == 0, (text_en, text_de)
    read_en = next(line for line in text_en.splitlines() if line.startswith("read as:"))
    read_de = next(line for line in text_de.splitlines() if line.startswith("gelesen als:"))
    assert read_de == ("gelesen als: 2*x**2 + x**y; x**y = exp(y*log(x)) ist definiert für "
                       "x > 0")
    assert read_en == "read as: 2*x**2 + x**y; x**y = exp(y*log(x)) is defined for x > 0"
    assert "read as" not in text_de and "is defined" not in text_de


def test_graph_help_is_german(capsys):
    code, text = _graph(capsys, ["--help", "--lang", "de"])
    assert code == 0
    assert "Aufruf:" in text or "Optionen" in text, text
    assert "show this help message" not in text


# ----- the APIs: the message is built when raised, in the language in force then ----------
def _message(fn, language: str) -> str:
    with use_language(language), pytest.raises(ValueError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("fn, german", [
    (lambda: parse(""), "leerer Ausdruck"),
    (lambda: parse("x # c"), "Kommentare sind nicht erlaubt (Spalte 3)"),
    (lambda: parse("x < 1"), "Vergleiche sind nicht erlaubt ('x < 1') in Spalte 1"),
    (lambda: parse("1/0"), "Division durch null"),
    (lambda: parse("exp(x, y)"), "exp() erwartet 1 Argument, erhalten: 2"),
    (lambda: parse("x*" * 3000 + "x"), "Ausdruck zu lang (6001 Zeichen; Grenze"),
    (lambda: parse("x + y").evaluate({"x": 1.0}), "fehlender Wert für die Variable 'y'"),
    (lambda: parse("x").evaluate({"x": 1.0, "z": 2.0}),
     "unbekannte Variable 'z' (der Ausdruck verwendet x)"),
    (lambda: parse_assignments("x=1,x=2"), "doppelte Zuweisung an 'x' in 'x=2'"),
    (lambda: parse_assignments("pi=3"), "'pi' ist eine Konstante, keine Variable"),
    (lambda: parse_assignments("x=abc"), "ungültige Zuweisung 'x=abc' (erwartet: NAME=ZAHL)"),
])
def test_parser_errors_in_german(fn, german):
    text = _message(fn, "de")
    assert german in text, text
    english = _message(fn, "en")
    assert english != text and _facts(english) == _facts(text)


def test_parse_errors_are_expression_errors_in_both_languages():
    for language in ("en", "de"):
        with use_language(language), pytest.raises(ExpressionError):
            parse("x +* 2")


def test_graph_limit_refusals_in_german():
    error_text = {}
    for language in ("en", "de"):
        with use_language(language):
            error_text[language] = [str(GraphTooLargeError(5000, 2000, a))
                                    for a in ("draw", "write", "build")]
            error_text[language].append(too_large_svg(GraphTooLargeError(5000, 2000)))
    draw, write, build, svg = error_text["de"]
    assert draw.startswith("Ein Graph mit 5,000 Knoten wird nicht gezeichnet: die Grenze ist "
                           "2,000")
    assert "DAGRAD_MAX_DRAW_NODES=5000" in draw and "max_nodes=5000" in draw
    assert "Herleitung" in write and "Kante" in write
    assert "mehr als 2,000 Knoten" in build and "DAGRAD_MAX_GRAPH_NODES=20000" in build
    assert "Graph nicht gezeichnet: 5,000 Knoten &gt; Grenze 2,000." in svg
    assert error_text["en"][0].startswith("refusing to draw a graph of 5,000 nodes")
    for en, de in zip(error_text["en"], error_text["de"], strict=True):
        assert re.findall(r"\d[\d,]*", en) == re.findall(r"\d[\d,]*", de)


def test_limit_environment_errors_in_german(monkeypatch):
    monkeypatch.setenv(DRAW.env, "many")
    assert _message(DRAW.value, "de") == (
        "DAGRAD_MAX_DRAW_NODES muss eine positive ganze Zahl sein, erhalten: 'many'")
    assert _message(DRAW.value, "en") == (
        "DAGRAD_MAX_DRAW_NODES must be a positive whole number, got 'many'")
    assert _message(lambda: DRAW.value(0), "de") == "max_nodes muss mindestens 1 sein, erhalten: 0"


def test_npz_refusals_in_german(tmp_path):
    missing = tmp_path / "none.npz"
    assert _message(lambda: NpzReader(missing), "de") == f"{missing}: keine solche Datei"
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    assert _message(lambda: NpzReader(empty), "de") == (
        f"{empty}: kein .npz-(zip-)Archiv (leere Datei)")
    assert _message(lambda: NpzReader(empty), "en") == (
        f"{empty}: not an .npz (zip) archive (empty file)")
    odd = tmp_path / "odd.npz"
    with zipfile.ZipFile(odd, "w") as z:
        z.writestr("notes.txt", "hello")
    assert _message(lambda: NpzReader(odd), "de") == (
        f"{odd}: Eintrag 'notes.txt' ist kein NumPy-.npy-Array (ein .npz enthält nur "
        ".npy-Einträge)")
