"""gettext for dagrad: every marked string has German, the .mo is GNU's, the language resolves."""

from __future__ import annotations

import argparse
import ast
import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dagrad import i18n

SRC = Path(__file__).resolve().parents[1] / "src" / "dagrad"
PO = SRC / "locale" / "de" / "LC_MESSAGES" / "dagrad.po"


def marked_messages() -> dict[str, str]:
    """Every literal first argument of _("…") and N_("…") in src/dagrad, by an ast walk."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "N_") and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[a-z0-9_!r]*\}|%\([a-z_]+\)[rsd]|%[rsd]", text))


def test_every_marked_string_has_a_german_entry():
    messages = marked_messages()
    assert len(messages) > 100  # the walk finds the exercise, its CLI and argparse's strings
    german = i18n.read_po(PO)
    missing = {m: where for m, where in messages.items() if m not in german}
    assert missing == {}


def test_german_entries_keep_every_placeholder():
    german = i18n.read_po(PO)
    bad = [(m, t) for m, t in german.items() if m and _placeholders(m) != _placeholders(t)]
    assert bad == []


def test_an_unmarked_message_would_be_caught(tmp_path):
    # the walk itself: a file with a new _("…") yields a msgid the catalog lacks
    tree = ast.parse('from dagrad.i18n import _\nprint(_("a sentence nobody translated"))\n')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "_"]
    assert calls and calls[0].args[0].value not in i18n.read_po(PO)


def test_the_german_uses_the_course_terms():
    text = " ".join(i18n.read_po(PO).values())
    for term in ("Kettenregel", "Jacobi-Matrizen", "Gradient", "verschwindenden Gradienten",
                 "Rückwärtsdurchlauf", "Aufgabenstellung", "Musterlösung", "Übungsblatt"):
        assert term in text, term


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt not installed")
def test_compiled_catalog_equals_gnu_msgfmt(tmp_path):
    ours = gettext.GNUTranslations(__import__("io").BytesIO(i18n.compile_po(PO)))
    theirs_path = tmp_path / "gnu.mo"
    subprocess.run(["msgfmt", "-o", str(theirs_path), str(PO)], check=True)
    with open(theirs_path, "rb") as f:
        theirs = gettext.GNUTranslations(f)
    entries = i18n.read_po(PO)
    for msgid in entries:
        if msgid:
            assert ours.gettext(msgid) == theirs.gettext(msgid) == entries[msgid]
    assert ours.gettext("Checks") == "Prüfungen"


def test_read_po_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.po"
    bad.write_text('msgid "a"\nmsgstr "b"\nnonsense here\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.po:3"):
        i18n.read_po(bad)
    twice = tmp_path / "twice.po"
    twice.write_text('msgid "a"\nmsgstr "b"\n\nmsgid "a"\nmsgstr "c"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="appears twice"):
        i18n.read_po(twice)


def test_fuzzy_and_empty_entries_are_left_out(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('#, fuzzy\nmsgid "a"\nmsgstr "A"\n\nmsgid "b"\nmsgstr ""\n\n'
                  'msgid "c"\nmsgstr ""\n"C1"\n"C2"\n', encoding="utf-8")
    assert i18n.read_po(po) == {"c": "C1C2"}


def test_a_stale_or_missing_mo_is_rebuilt_from_the_po(tmp_path, monkeypatch):
    folder = tmp_path / "locale" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "dagrad.po"
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "Checks"\nmsgstr "Prüfungen"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    monkeypatch.setattr(i18n, "_cache", {})
    assert i18n.translation("de").gettext("Checks") == "Prüfungen"  # no .mo at all
    assert i18n.compile_catalogs() == [folder / "dagrad.mo"]
    # the .po changes after the .mo was built: the catalog follows the .po, not the old .mo
    po.write_text(po.read_text(encoding="utf-8").replace("Prüfungen", "Kontrollen"),
                  encoding="utf-8")
    monkeypatch.setattr(i18n, "_cache", {})
    assert i18n.translation("de").gettext("Checks") == "Kontrollen"


def test_the_language_resolves_in_order(monkeypatch):
    env = i18n.language_from_environment
    assert env({}) == "en"
    assert env({"LANG": "de_DE.UTF-8"}) == "de"
    assert env({"LANG": "C.UTF-8"}) == "en"
    assert env({"LC_ALL": "en_US.UTF-8", "LANG": "de_DE.UTF-8"}) == "en"
    assert env({"DAGRAD_LANG": "de", "LANG": "en_US.UTF-8"}) == "de"
    assert env({"DAGRAD_LANG": "en", "LC_ALL": "de_AT.UTF-8"}) == "en"
    with pytest.raises(ValueError, match="DAGRAD_LANG='fr'"):
        env({"DAGRAD_LANG": "fr"})
    monkeypatch.setenv("DAGRAD_LANG", "de")
    with i18n.use_language("en"):
        assert i18n._("Checks") == "Checks"
    assert i18n.get_language() == "de"
    assert i18n._("Checks") == "Prüfungen"
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        i18n.set_language("fr")


def test_language_from_argv():
    assert i18n.language_from_argv(["exercise", "--lang", "de"]) == "de"
    assert i18n.language_from_argv(["exercise", "--lang=en"]) == "en"
    assert i18n.language_from_argv(["graph", "--", "--lang", "de"]) is None
    assert i18n.language_from_argv(["graph", "x"]) is None


def test_argparse_strings_go_through_the_catalog(capsys):
    saved = argparse._  # type: ignore[attr-defined]
    with i18n.use_language("de"):
        parser = i18n.translated_parser()(prog="demo")
        parser.add_argument("--n", type=int, required=True)
        text = parser.format_help()
        assert text.startswith("Aufruf: demo")
        assert "Optionen" in text and "diese Hilfe anzeigen und beenden" in text
        with pytest.raises(SystemExit) as e:
            parser.parse_args([])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert "demo: Fehler: die folgenden Argumente fehlen: --n" in err
        with pytest.raises(SystemExit):
            parser.parse_args(["--n", "x"])
        assert "ungültiger int-Wert: 'x'" in capsys.readouterr().err
    assert argparse._ is saved  # type: ignore[attr-defined]  # restored after each call
    with i18n.use_language("en"):
        english = i18n.translated_parser()(prog="demo")
        assert english.format_help().startswith("usage: demo")


def test_cli_help_in_german(capsys):
    from dagrad.cli import main

    with pytest.raises(SystemExit) as e:
        main(["exercise", "--lang", "de", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    assert out.startswith("Aufruf: dagrad exercise")
    assert "Musterlösung" in out and "derselbe Seed ergibt dasselbe Blatt" in out
    with pytest.raises(SystemExit):
        main(["exercise", "--lang", "en", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: dagrad exercise") and "solution key" in out


def test_cli_refuses_an_unknown_dagrad_lang(monkeypatch, capsys):
    from dagrad.cli import main

    monkeypatch.setenv("DAGRAD_LANG", "klingon")
    assert main(["exercise", "--seed", "1"]) == 2
    assert "DAGRAD_LANG='klingon' is not a language dagrad writes" in capsys.readouterr().err


def test_the_build_step_compiles_the_catalogs(tmp_path):
    # setup.py's build_py (the install-time route): the built package carries .po and .mo
    import sys

    root = SRC.parents[1]
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
                   cwd=root, check=True, capture_output=True)
    built = tmp_path / "dagrad" / "locale" / "de" / "LC_MESSAGES"
    assert (built / "dagrad.po").read_bytes() == PO.read_bytes()
    assert (built / "dagrad.mo").read_bytes() == i18n.compile_po(PO)
