"""The command line in German: --lang on every command, German --help, argparse's messages,
errors, what to install, and the training output; the numbers are the English run's.

The oracles: the English run of the same command (numbers, formulas), the catalog's German
entries, and GNU msgfmt for dagrad's own .mo compiler.
"""

from __future__ import annotations

import argparse
import gettext
import io
import re
import shutil
import subprocess

import pytest

from dagrad import i18n
from dagrad.cli import COMMANDS, build_parser, main
from dagrad.cli.needs import Requirement
from dagrad.i18n import use_language
from dagrad.training.progress import ProgressBar

PO = i18n.LOCALE_DIR / "de" / "LC_MESSAGES" / "dagrad.po"
#: commands this file covers in full (check is translated with its own module)
OURS = ["tour", "rosenbrock", "graph", "vanishing", "mlp-jacobians", "train", "evaluate",
        "exercise"]
#: a help that is only a default in parentheses ("(adam)") has no prose to translate
_ONLY_DEFAULT = re.compile(r"\(\S+\)\Z")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _helps(language: str) -> dict[tuple[str, str], str]:
    """(command, option) → help text, with the parser built in ``language``."""
    with use_language(language):
        subs = _subparsers(build_parser())
        out = {}
        for name in OURS:
            p = subs[name]
            out[(name, "")] = p.description or ""
            if p.epilog:
                out[(name, "epilog")] = p.epilog
            for action in p._actions:
                if action.help and action.help is not argparse.SUPPRESS:
                    out[(name, "/".join(action.option_strings) or action.dest)] = action.help
    return out


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse: --help (0) and usage errors (2)
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _help(capsys, argv: list[str]) -> str:
    code, out, _err = _run(capsys, [*argv, "--help"])
    assert code == 0
    return out


# ----- --lang and --help ------------------------------------------------------------------------
def test_every_command_takes_lang_in_its_help(capsys):
    assert "--lang {en,de}" in _help(capsys, [])
    for name in COMMANDS:
        text = _help(capsys, [name])
        assert "--lang {en,de}" in text, name


def test_every_help_string_of_the_commands_is_german():
    english, german = _helps("en"), _helps("de")
    assert english.keys() == german.keys()
    untranslated = {k: v for k, v in english.items()
                    if german[k] == v and not _ONLY_DEFAULT.match(v)}
    assert untranslated == {}
    assert len(english) > 100  # every option of eight commands


def test_help_is_german_with_lang_and_with_dagrad_lang(capsys, monkeypatch):
    by_option = _help(capsys, ["train", "--lang", "de"])
    monkeypatch.setenv("DAGRAD_LANG", "de")
    by_environment = _help(capsys, ["train"])
    assert by_option == by_environment
    for text in (by_option, by_environment):
        assert text.startswith("Aufruf: dagrad train")
        assert "Optionen:" in text and "diese Hilfe anzeigen und beenden" in text
        assert "Lernrate" in text and "Aktivierungsfunktion der verborgenen Schichten" in text
        assert "usage:" not in text and "learning rate" not in text
    monkeypatch.setenv("DAGRAD_LANG", "en")
    assert _help(capsys, ["train"]).startswith("usage: dagrad train")
    # --lang wins over the environment, and the top-level help lists the commands in German
    top = _help(capsys, ["--lang", "de"])
    assert "Positionsargumente" in top and "Kettenregel" in top and "Rosenbrock-Funktion" in top
    assert "Jacobi-Matrizen" in top


def test_graph_help_keeps_the_mathematics(capsys):
    en, de = (" ".join(_help(capsys, ["graph", "--lang", lang]).split()) for lang in ("en", "de"))
    assert "∂Ziel/∂Quelle" in de and "Herleitung mit der Kettenregel" in de
    assert "∂target/∂source" not in de and "chain-rule derivation" not in de
    for shared in ("x1=1.5,x2=2", "x^2, 2x, x², 2·x, |x|, √x, e^x, ln(x), max(0, x)",
                   "{LR,TB,RL,BT}", "+ - * / **", "cos, exp, expm1"):
        assert shared in en and shared in de, shared


# ----- argparse's own messages ------------------------------------------------------------------
@pytest.mark.parametrize("argv, german, english", [
    (["train", "--epochs", "x"], "ungültiger int-Wert: 'x'", "invalid int value"),
    (["train", "--optimizer", "rmsprop"], "ungültige Auswahl: 'rmsprop'", "invalid choice"),
    (["evaluate"], "die folgenden Argumente fehlen: checkpoint",
     "the following arguments are required"),
    (["tour", "--no-such-option"], "unbekannte Argumente: --no-such-option",
     "unrecognized arguments"),
    (["frobnicate"], "ungültige Auswahl: 'frobnicate'", "invalid choice"),
])
def test_argparse_errors_are_german(capsys, argv, german, english):
    code, _out, err = _run(capsys, [*argv, "--lang", "de"])
    assert code == 2
    assert err.startswith("Aufruf: dagrad") and german in err and ": Fehler: " in err
    assert english not in err and "usage:" not in err and "error:" not in err
    code, _out, err = _run(capsys, [*argv, "--lang", "en"])
    assert code == 2 and english in err and err.startswith("usage: dagrad")


# ----- the commands' own errors -----------------------------------------------------------------
@pytest.mark.parametrize("argv, german, english", [
    (["graph", "x1*x2", "--at", "x1=1"], "dagrad graph: Fehler: bei --at fehlt x2 (die Variablen "
     "des Ausdrucks: x1, x2; z. B. --at x1=1,x2=1)", "--at is missing x2"),
    (["graph", "x1", "--at", "x1=1", "--quiz"], "--quiz braucht --html PFAD",
     "--quiz needs --html"),
    (["rosenbrock", "--at", "x1=1"], "--at muss genau x1 und x2 angeben (es fehlt x2)",
     "--at must give exactly"),
    (["vanishing", "--width", "3"], "--width: nur mit --mlp", "only with --mlp"),
    (["vanishing", "--depth", "a"], "--depth muss eine ganze Zahl oder eine Liste",
     "must be an integer"),
    (["mlp-jacobians", "--train-steps", "-1"], "--train-steps muss ≥ 0 sein, erhielt -1",
     "must be ≥ 0"),
    (["train", "--epochs", "0", "--no-plots"], "epochs muss mindestens 1 sein, erhielt 0",
     "must be at least 1"),
    (["evaluate", "no/such/checkpoint.npz"], "dagrad evaluate: Fehler: ", "error:"),
])
def test_command_errors_are_german(capsys, tmp_path, argv, german, english):
    if argv[0] == "train":
        argv = [*argv, "-o", str(tmp_path / "run")]
    code, _out, err = _run(capsys, [*argv, "--lang", "de"])
    assert code == 2
    assert german in err and english not in err
    code, _out, err = _run(capsys, [*argv, "--lang", "en"])
    assert code == 2 and english in err


def test_what_to_install_is_german(capsys, tmp_path, monkeypatch):
    real = Requirement.available
    monkeypatch.setattr(Requirement, "available",
                        lambda self: False if self.module in ("matplotlib", "sympy")
                        else real(self))
    code, _out, err = _run(capsys, ["train", "--lang", "de", "-o", str(tmp_path / "r")])
    assert code == 2
    assert err.startswith("dagrad train: matplotlib (für curves.png und confusion.png) ist "
                          "nicht installiert; installieren Sie es mit: pip install "
                          "'dagrad[plot]' — oder trainieren Sie mit --no-plots ohne sie")
    code, _out, err = _run(capsys, ["tour", "--only", "a", "--lang", "de"])
    assert code == 2
    assert ("matplotlib (für die Diagramme von Teil a) und SymPy (für σ' der als Ausdruck "
            "gegebenen Aktivierungsfunktion von Teil a) sind nicht installiert") in err
    assert "pip install 'dagrad[plot,symbolic]'" in err  # the commands themselves are shared
    assert "not installed" not in err and " and " not in err
    assert not (tmp_path / "r").exists()


# ----- the training output ----------------------------------------------------------------------
_NUMBERS = re.compile(r"\d+\.\d{4}\b|\d+\.\d{2}%|\d[\d,]* (?:parameters|Parameter)")


def _train(capsys, lang: str, out) -> str:
    code, text, _err = _run(capsys, ["train", "--lang", lang, "--epochs", "2", "--limit-train",
                                     "256", "--limit-test", "128", "--hidden", "32",
                                     "--no-plots", "--no-progress", "-o", str(out)])
    assert code == 0
    return text


def _numbers(text: str) -> list[str]:
    return [n.split()[0] for n in _NUMBERS.findall(text)]


def test_train_and_evaluate_print_german_with_the_english_numbers(capsys, tmp_path):
    en = _train(capsys, "en", tmp_path / "en")
    de = _train(capsys, "de", tmp_path / "de")
    for term in ("Datensatz: sample — die 10.000 echten MNIST-Ziffern", "Modell: MLP",
                 "Lernrate", "Epoche 1/2  Trainingsverlust", "Testverlust", "Testgenauigkeit",
                 "nach 2 Epochen in"):
        assert term in de, term
    for english in ("train loss", "test accuracy", "dataset:", "model:", "epochs in"):
        assert english not in de and english in en
    assert _numbers(de) == _numbers(en) and len(_numbers(en)) >= 10
    # evaluate: the same table, its words German
    ckpt = str(tmp_path / "en" / "checkpoint.npz")
    code, ev_en, _ = _run(capsys, ["evaluate", ckpt, "--limit", "100", "--lang", "en"])
    code_de, ev_de, _ = _run(capsys, ["evaluate", ckpt, "--limit", "100", "--lang", "de"])
    assert code == code_de == 0
    assert "Genauigkeit" in ev_de and "Klasse" in ev_de and "Beispiele" in ev_de
    assert "accuracy" not in ev_de and "samples" not in ev_de
    assert _numbers(ev_de) == _numbers(ev_en) and len(_numbers(ev_en)) >= 11
    assert [line.split()[1:] for line in ev_de.splitlines()[3:]] == \
        [line.split()[1:] for line in ev_en.splitlines()[3:]]  # per-class rows, same numbers


def test_the_progress_bar_speaks_german():
    def bar_text(lang: str) -> str:
        stream = io.StringIO()
        with use_language(lang):
            bar = ProgressBar(10, desc="x", stream=stream, tty=True, min_interval=0)
            bar.update(5, loss=0.25, samples=320)
            bar.close()
        return stream.getvalue()

    de, en = bar_text("de"), bar_text("en")
    assert "Verlust 0.2500" in de and "Beispiele/s" in de and "Restzeit" in de
    assert "loss 0.2500" in en and "samples/s" in en and "ETA" in en
    assert "loss" not in de and "ETA" not in de and "5/10" in de


def test_the_training_plots_are_labelled_in_german(tmp_path):
    pytest.importorskip("matplotlib")
    from dagrad.training import plots

    labels: list[str] = []
    real = plots._save

    def keep(fig, path):
        for ax in fig.axes:
            labels.extend([ax.get_xlabel(), ax.get_ylabel(), ax.get_title()])
        return real(fig, path)

    history = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.1,
                "test_acc": 0.4}]
    with use_language("de"), pytest.MonkeyPatch.context() as mp:
        mp.setattr(plots, "_save", keep)
        plots.plot_curves(history, tmp_path / "c.png")
        plots.plot_confusion([[3, 1], [0, 4]], tmp_path / "m.png")
    assert {"Epoche", "Kreuzentropie-Verlust", "Genauigkeit (%)", "vorhergesagt",
            "wahr", "Genauigkeit 87.50%"} <= set(labels)  # 7 of 8 on the diagonal


# ----- the exercises' commands ------------------------------------------------------------------
def _table(text: str) -> list[list[str]]:
    return [line.split()[1:] for line in text.splitlines()
            if len(line.split()) == 3 and line.split()[0] in ("f", "df/dx1", "df/dx2")]


def test_rosenbrock_prints_german_with_the_same_numbers(capsys):
    pytest.importorskip("sympy")
    code_en, en, _ = _run(capsys, ["rosenbrock", "--lang", "en"])
    code_de, de, _ = _run(capsys, ["rosenbrock", "--lang", "de"])
    assert code_en == code_de == 0
    assert _table(de) == _table(en) == [["6.5", "6.5"], ["151", "151"], ["-50", "-50"]]
    assert "geschlossene Form" in de and "Backpropagation" in de
    assert "Prüfung: Backpropagation stimmt mit der geschlossenen Form überein" in de
    assert "Prüfung: die Kettenregel über den DAG ergibt die geschlossene Form" in de
    assert "Kanten" in de and "Operationen add, mul, powi, sub" in de
    assert "(-400*x1*(x2 - x1**2) - 2*(1 - x1), 200*(x2 - x1**2))" in de  # the formula shared
    assert "closed form" not in de and "carry a gradient" not in de


def test_vanishing_usage_in_german_and_its_plot_title(capsys):
    code, _out, err = _run(capsys, ["vanishing", "--mlp", "--weights", "1", "--lang", "de"])
    assert code == 2 and "--weights gilt für die Kette, nicht für --mlp" in err


# ----- GNU msgfmt, the oracle for the catalog and for dagrad's compiler --------------------------
@pytest.mark.skipif(shutil.which("msgfmt") is None,
                    reason="GNU gettext's msgfmt is not installed (Debian: apt-get install "
                           "gettext; scripts/test.sh installs it)")
def test_msgfmt_checks_the_catalog_and_compiles_what_compile_po_writes(tmp_path):
    gnu = tmp_path / "gnu.mo"
    res = subprocess.run(["msgfmt", "--check-format", "--check-header", "-o", str(gnu),
                          str(PO)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "warning" not in res.stderr and "error" not in res.stderr, res.stderr
    ours_path = tmp_path / "ours.mo"
    ours_path.write_bytes(i18n.compile_po(PO))
    with open(gnu, "rb") as f:
        theirs = gettext.GNUTranslations(f)
    with open(ours_path, "rb") as f:
        ours = gettext.GNUTranslations(f)
    gnu_messages = dict(theirs._catalog)  # type: ignore[attr-defined]
    our_messages = dict(ours._catalog)  # type: ignore[attr-defined]
    gnu_header = gnu_messages.pop("")
    our_header = our_messages.pop("")
    assert our_messages == gnu_messages and len(gnu_messages) > 400
    # the header is msgfmt's plus the SHA-1 of the .po the .mo was built from
    extra = [line for line in our_header.splitlines() if line not in gnu_header.splitlines()]
    assert len(extra) == 1 and extra[0].startswith("X-Dagrad-Po-SHA1: ")
    assert ours.info()["language"] == theirs.info()["language"] == "de"
    # and a German string through both
    assert ours.gettext("loss {loss}") == theirs.gettext("loss {loss}") == "Verlust {loss}"


def test_a_bad_checkpoint_is_refused_in_german(tmp_path, capsys):
    import numpy as np

    from dagrad import nn
    from dagrad.training import load_checkpoint, save_checkpoint

    good = tmp_path / "good.npz"
    save_checkpoint(good, nn.MLP([4, 3], seed=0).state_dict())
    arrays = dict(np.load(good, allow_pickle=False))

    def variant(name, **changes):
        data = {**arrays, **changes}
        np.savez(tmp_path / name, **{k: v for k, v in data.items() if v is not None})
        return tmp_path / name

    cases = {
        "kein Trainings-Checkpoint von dagrad (Format 'other'": variant(
            "f.npz", format=np.array("other")),
        "dem Checkpoint fehlt config": variant("m.npz", config=None),
        "Eintrag 'config.npy' ist kein gültiges JSON": variant("j.npz",
                                                               config=np.array("{oops")),
        "muss aus endlichen Gleitkommazahlen bestehen": variant(
            "n.npz", **{"model.0.weight": np.full((3, 4), np.nan)}),
        "'epoch' muss eine nichtnegative ganze Zahl sein, erhielt -1": variant(
            "e.npz", epoch=np.array(-1)),
        "Eintrag 'rng.npy' muss 6 uint64 enthalten": variant("r.npz", rng=np.arange(3)),
    }
    with use_language("de"):
        for message, path in cases.items():
            with pytest.raises(ValueError, match=re.escape(message)):
                load_checkpoint(path)
    # through the command line: the file's name, the German reason, exit status 2
    code, _out, err = _run(capsys, ["evaluate", str(cases["dem Checkpoint fehlt config"]),
                                    "--lang", "de"])
    assert code == 2 and err.startswith("dagrad evaluate: Fehler: ")
    assert "m.npz: dem Checkpoint fehlt config" in err


def test_lang_holds_for_one_command_only(capsys, monkeypatch):
    monkeypatch.delenv("DAGRAD_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    _help(capsys, ["train", "--lang", "de"])
    assert i18n.get_language() == "en"  # the next test, or the caller, is not left in German
    with use_language("de"):
        _help(capsys, ["train", "--lang", "en"])
        assert i18n.get_language() == "de"


_SCIENTIFIC = re.compile(r"-?\d\.\d+e[-+]\d+")


def test_mlp_jacobians_prints_and_writes_german(capsys, tmp_path):
    runs = {}
    for lang in ("en", "de"):
        code, out, _err = _run(capsys, ["mlp-jacobians", "--no-dense", "--lang", lang, "-o",
                                        str(tmp_path / lang)])
        assert code == 0
        runs[lang] = out
    de, en = runs["de"], runs["en"]
    assert "Bericht in " in de and "dichter Tensor ausgelassen (--no-dense)" in de
    assert f"nach {tmp_path / 'de'}/ geschrieben" in de
    assert "report built in" not in de and "dense tensor skipped" not in de
    assert "report built in" in en
    assert _SCIENTIFIC.findall(de) == _SCIENTIFIC.findall(en) and _SCIENTIFIC.findall(en)
    assert '<html lang="de"' in (tmp_path / "de" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in (tmp_path / "en" / "report.html").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_tour_summary_and_worksheet_titles_are_german(capsys, tmp_path):
    pytest.importorskip("sympy")
    code, out, _err = _run(capsys, ["tour", "--only", "b", "--lang", "de", "-o",
                                    str(tmp_path / "report")])
    assert code == 0
    assert out.startswith("dagrad tour — das Übungsblatt zur Backpropagation, von Anfang bis "
                          "Ende gelöst")
    assert re.search(r"^1 Teil in \d+\.\d s; 2 von 2 unabhängigen Prüfungen bestanden$", out,
                     re.M)
    assert f"Bericht: {tmp_path / 'report' / 'index.html'}" in out
    assert "independent checks pass" not in out and "report:" not in out
    code, out, _err = _run(capsys, ["tour", "--only", "b", "--solutions", "off", "--lang", "de",
                                    "-o", str(tmp_path / "sheet")])
    assert code == 0
    assert f"Aufgabenblatt: {tmp_path / 'sheet' / 'worksheet.html'}" in out
    page = (tmp_path / "sheet" / "worksheet.html").read_text(encoding="utf-8")
    assert "dagrad — das Übungsblatt zur Backpropagation: Aufgabenblatt" in page
    assert '<html lang="de"' in page
    code, _out, err = _run(capsys, ["tour", "--only", "b,x", "--solutions", "off", "--lang",
                                    "de", "-o", str(tmp_path / "bad")])
    assert code == 2 and "--only: unbekannter Teil x; wählen Sie aus a, b, c, train" in err
