"""dagrad exercise: new sheets from a seed, keys checked before they are written, de and en."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from dagrad.cli import main
from dagrad.exercise import (
    Check,
    ExerciseCheckError,
    default_checkers,
    make_sheet,
    parse_parts,
    part_a,
    part_b,
    part_c,
    write_sheet,
)
from dagrad.exercise.document import latex_prose
from dagrad.i18n import use_language

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot missing")
TEXT_FILES = ("sheet.md", "sheet.html", "sheet.tex", "key.md", "key.html", "key.tex",
              "dag-b.svg")


def _c_has_dag(seed: int) -> bool:
    """(c)'s layer DAG is drawn for −log z_y (the explainer's picture), not for the MSE loss."""
    rng = np.random.default_rng(seed)
    part_a.draw(rng), part_b.draw(rng)
    return part_c.draw(rng).loss != "mse"


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    """Seed 7 in both languages, written by the command line."""
    out = {}
    for lang in ("en", "de"):
        folder = tmp_path_factory.mktemp(f"seed7{lang}")
        assert main(["exercise", "--seed", "7", "--lang", lang, "-o", str(folder)]) == 0
        out[lang] = folder
    return out


def test_writes_handout_key_and_dags(sheets):
    for folder in sheets.values():
        names = sorted(p.name for p in folder.iterdir())
        dag_c = ["dag-c.svg", "dag-c.png"] if _c_has_dag(7) else []
        assert names == sorted([*TEXT_FILES, "dag-b.png", *dag_c])
        assert (folder / "dag-b.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_same_seed_same_bytes_in_a_fresh_process(sheets, tmp_path):
    env = {**os.environ, "PYTHONHASHSEED": "12345", "DAGRAD_LANG": "en"}
    done = subprocess.run([sys.executable, "-c", "import sys; from dagrad.cli import main; "
                           "sys.exit(main())", "exercise", "--seed", "7", "-o", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".png")
    assert names == sorted(p.name for p in sheets["en"].iterdir() if p.suffix != ".png")
    assert set(TEXT_FILES) <= set(names)
    for name in names:
        assert (tmp_path / name).read_bytes() == (sheets["en"] / name).read_bytes(), name


def _handout(seed: int) -> str:
    rng = np.random.default_rng(seed)
    va, vb, vc = part_a.draw(rng), part_b.draw(rng), part_c.draw(rng)
    with use_language("en"):
        blocks = part_a.handout(va) + part_b.handout(vb) + part_c.handout(vc)
    return repr(blocks)


def test_different_seeds_give_different_sheets():
    handouts = [_handout(s) for s in range(8)]
    assert len(set(handouts)) == 8
    rngs = [np.random.default_rng(s) for s in range(8)]
    draws = [(part_a.draw(r), part_b.draw(r), part_c.draw(r)) for r in rngs]
    assert len({d[0] for d in draws}) == 8 and len({d[1].text for d in draws}) == 8
    assert len({d[2] for d in draws}) == 8
    assert _handout(3) == _handout(3)


def test_variants_stay_in_the_issue_s_ranges():
    seen_acts, seen_losses = set(), set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        va, vb, vc = part_a.draw(rng), part_b.draw(rng), part_c.draw(rng)
        seen_acts |= {va.first.key, va.second.key}
        assert va.first.key != va.second.key and 3 <= va.n <= 6
        assert all(0 < abs(w) < va.c for w in va.weights)
        assert 6 <= part_b.count_ops(vb.tree) <= 12 and len(vb.names) in (2, 3)
        assert all(p.denominator in (1, 2) and abs(p) <= 2 for p in vb.point)
        assert vc.activation in part_c.HIDDEN_ACTIVATIONS and 1 <= vc.label <= vc.sizes[-1]
        seen_losses.add(vc.loss)
    assert seen_acts == set(part_a.ACTIVATIONS) and seen_losses == {"cross_entropy", "nll", "mse"}


def test_the_printed_function_is_the_tree():
    # the text the handout prints, read by SymPy's own parser, equals the tree's SymPy form
    import sympy

    for seed in range(10):
        vb = part_b.draw(np.random.default_rng(seed).spawn(1)[0])
        sym = {n: sympy.Symbol(n, real=True) for n in vb.names}
        assert sympy.expand(sympy.parse_expr(vb.text, local_dict=sym)
                            - part_b.to_sympy(vb.tree, sym)) == 0


def test_key_b_against_sympy_exactly(sheets):
    sheet = make_sheet(7, "b", "en")
    vb, sb = sheet.variants["b"], sheet.solutions["b"]
    import sympy

    sym = {n: sympy.Symbol(n) for n in vb.names}
    f = sympy.parse_expr(vb.text, local_dict=sym)
    at = {sym[n]: sympy.Rational(p.numerator, p.denominator)
          for n, p in zip(vb.names, vb.point, strict=True)}
    for n in vb.names:
        exact = sympy.diff(f, sym[n]).subs(at)
        assert sb.gradient[n] == float(exact)
        assert sb.exact_gradient[n] == Fraction(int(exact.p), int(exact.q))
    # the key prints the exact gradient
    key = (sheets["en"] / "key.md").read_text(encoding="utf-8")
    assert r"\nabla f\," in key


def test_key_a_against_pytorch():
    import torch

    for seed in (0, 1, 2, 5):
        va = part_a.draw(np.random.default_rng(seed))
        sa = part_a.solve(va)
        w = torch.tensor([float(x) for x in va.weights], dtype=torch.float64,
                         requires_grad=True)
        slope = float(va.first.spec.split(":")[-1]) if ":" in va.first.spec else 0.01
        sigma = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                 "softplus": torch.nn.functional.softplus,
                 "leaky_relu": lambda u: torch.nn.functional.leaky_relu(u, slope),  # noqa: B023
                 "rational": lambda u: u / (1 + u.abs())}[va.first.key]
        h = torch.tensor(float(va.x), dtype=torch.float64)
        for k in range(va.n):
            h = sigma(w[k] * h)
        (g,) = torch.autograd.grad(h, w)
        np.testing.assert_allclose(sa.gradient, g.numpy(), rtol=1e-10, atol=1e-300)
        assert np.all(np.abs(sa.gradient) <= sa.bounds[0] * (1 + 1e-12))


def test_key_c_against_pytorch():
    import torch

    vc = part_c.VariantC((12, 8, 6, 4), "tanh", "cross_entropy", 3, 11)
    sc = part_c.solve(vc)
    spec = sc.report.spec
    x = torch.tensor(np.random.default_rng(vc.seed).normal(size=12), requires_grad=True)
    b1 = torch.tensor(spec.biases[0], requires_grad=True)
    z = torch.tanh(torch.tensor(spec.weights[0]) @ x + b1)
    z = torch.tanh(torch.tensor(spec.weights[1]) @ z + torch.tensor(spec.biases[1]))
    logits = torch.tensor(spec.weights[2]) @ z + torch.tensor(spec.biases[2])
    loss = torch.nn.functional.cross_entropy(logits[None], torch.tensor([vc.label - 1]))
    gx, gb = torch.autograd.grad(loss, (x, b1))
    np.testing.assert_allclose(sc.report.chains[("x", "layer")].adjoints[-1].ravel(),
                               gx.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sc.report.chains[("b1", "layer")].adjoints[-1].ravel(),
                               gb.numpy(), rtol=1e-9, atol=1e-12)
    assert part_c.expected_shapes(vc)["x"] == [(1, 4), (4, 6), (6, 8), (8, 12)]
    assert part_c.check_sizes(vc, sc).ok and part_c.check_report(vc, sc).ok


@pytest.mark.parametrize("loss", ["mse", "nll"])
def test_key_c_products_against_pytorch(loss):
    import torch

    import dagrad as dg

    vc = part_c.VariantC((10, 6, 7, 4), "sigmoid", loss, 2, 5)
    sc = part_c.solve(vc)
    assert part_c.check_report(vc, sc).ok and part_c.check_sizes(vc, sc).ok
    model = dg.nn.MLP(list(vc.sizes), activation="sigmoid", output="softmax", seed=vc.seed)
    Ws = [torch.tensor(np.asarray(m.weight.data, dtype=np.float64)) for m in model.layers]
    bs = [torch.tensor(np.asarray(m.bias.data, dtype=np.float64)) for m in model.layers]
    x = torch.tensor(np.random.default_rng(vc.seed).normal(size=10), requires_grad=True)
    b1 = bs[0].clone().requires_grad_(True)
    z = torch.sigmoid(Ws[0] @ x + b1)
    z = torch.sigmoid(Ws[1] @ z + bs[1])
    s = torch.softmax(Ws[2] @ z + bs[2], 0)
    target = torch.nn.functional.one_hot(torch.tensor(vc.label - 1), 4).double()
    loss_t = torch.nn.functional.mse_loss(s, target) if loss == "mse" else -torch.log(s[1])
    gx, gb = torch.autograd.grad(loss_t, (x, b1))
    np.testing.assert_allclose(sc.gradients["x"], gx.numpy(), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(sc.gradients["b1"], gb.numpy(), rtol=1e-9, atol=1e-14)


def test_a_failing_check_writes_nothing(tmp_path, monkeypatch, capsys):
    def liar(v, s):
        return Check("b", "an injected check", "a test", False, "injected failure")

    with pytest.raises(ExerciseCheckError, match="injected failure"):
        make_sheet(7, "b", checkers={"b": [*default_checkers()["b"], liar]})
    monkeypatch.setattr(part_b, "CHECKERS", [*part_b.CHECKERS, liar])
    out = tmp_path / "w7"
    assert main(["exercise", "--seed", "7", "--parts", "a,b", "-o", str(out)]) == 1
    assert "a check failed, nothing was written" in capsys.readouterr().err
    assert not out.exists()


def test_checks_really_compare(monkeypatch):
    # a wrong engine answer is caught by the independent routes
    va = part_a.draw(np.random.default_rng(4))
    sa = part_a.solve(va)
    bad = part_a.SolutionA(sa.h, sa.gradient * (1 + 1e-6), sa.bounds, True)
    assert not part_a.check_sympy_gradient(va, bad).ok
    vb = part_b.draw(np.random.default_rng(4))
    sb = part_b.solve(vb)
    sb.gradient = {k: v + 0.5 for k, v in sb.gradient.items()}
    assert not part_b.check_exact(vb, sb).ok
    liar = dataclasses.replace(part_a.sheet_activation("sigmoid"), sup_derivative=Fraction(1, 8))
    assert not part_a.check_sup(part_a.VariantA(liar, liar, 3, Fraction(1), Fraction(1),
                                                (Fraction(1, 2),) * 3), sa).ok


def test_parts_and_solutions_options(tmp_path):
    only_c = tmp_path / "c"
    assert main(["exercise", "--seed", "7", "--parts", "c", "--solutions", "off",
                 "-o", str(only_c)]) == 0
    assert sorted(p.name for p in only_c.iterdir()) == ["sheet.html", "sheet.md", "sheet.tex"]
    text = (only_c / "sheet.md").read_text(encoding="utf-8")
    assert "c) Backpropagation" in text and "a) Effect" not in text and "b) Graphs" not in text
    key_only = tmp_path / "k"
    assert main(["exercise", "--seed", "7", "--parts", "a", "--solutions", "only",
                 "-o", str(key_only)]) == 0
    assert sorted(p.name for p in key_only.iterdir()) == ["key.html", "key.md", "key.tex"]
    assert parse_parts("c,a") == ("a", "c")
    # --parts picks what is printed, never what it is: (c) alone is the full sheet's (c)
    rng = np.random.default_rng(7)
    full_c = [part_a.draw(rng), part_b.draw(rng), part_c.draw(rng)][2]
    with use_language("en"):
        alone = part_c.handout(full_c)
    assert make_sheet(7, "c", "en", figures=False).handout.blocks[-len(alone):] == alone


@pytest.mark.parametrize("argv, message", [
    (["--parts", "a,x"], "--parts: expected some of a, b, c"),
    (["--seed", "-1"], "--seed must be an integer ≥ 0"),
])
def test_bad_options_exit_2(argv, message, tmp_path, capsys):
    args = ["exercise", "--seed", "1", "-o", str(tmp_path / "o"), *argv]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unknown_language_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["exercise", "--seed", "1", "--lang", "fr"])
    assert e.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err


def _display_math(md: str) -> list[str]:
    return re.findall(r"\$\$\n(.*?)\n\$\$", md, re.S)


def test_german_and_english_share_the_mathematics(sheets):
    for name in ("sheet.md", "key.md"):
        en = (sheets["en"] / name).read_text(encoding="utf-8")
        de = (sheets["de"] / name).read_text(encoding="utf-8")
        assert _display_math(en) == _display_math(de) and _display_math(en)
        assert re.findall(r"\$[^$\n]+\$", en.replace("$$", "")) \
            == re.findall(r"\$[^$\n]+\$", de.replace("$$", ""))
    de_key = (sheets["de"] / "key.md").read_text(encoding="utf-8")
    for word in ("Musterlösung", "Kettenregel", "Rückwärtsdurchlauf", "Jacobi-Matrizen",
                 "Prüfungen"):
        assert word in de_key
    en_key = (sheets["en"] / "key.md").read_text(encoding="utf-8")
    assert "Kettenregel" not in en_key and "chain rule" in en_key
    de_sheet = (sheets["de"] / "sheet.md").read_text(encoding="utf-8")
    assert de_sheet.startswith("# Übungsblatt 7") and "Aufgabenstellung" in de_sheet
    assert '<html lang="de">' in (sheets["de"] / "sheet.html").read_text(encoding="utf-8")


def test_html_pages_are_self_contained_with_typeset_math(sheets):
    page = (sheets["de"] / "key.html").read_text(encoding="utf-8")
    assert "renderMathInElement" in page and 'class="dg-math' in page
    assert "<svg" in page and 'class="dg-part"' in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex missing: apt-get install texlive-latex-base "
                           "texlive-latex-recommended texlive-lang-german")
@pytest.mark.parametrize("lang", ["de", "en"])
def test_latex_compiles_with_pdflatex(sheets, lang, tmp_path):
    for f in sheets[lang].iterdir():
        shutil.copy(f, tmp_path / f.name)
    for stem in ("sheet", "key"):
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                               f"{stem}.tex"], cwd=tmp_path, capture_output=True,
                              encoding="latin-1", timeout=240)
        assert done.returncode == 0, done.stdout[-2000:]
        assert (tmp_path / f"{stem}.pdf").stat().st_size > 5000
        log = (tmp_path / f"{stem}.log").read_text(encoding="latin-1")
        assert "Missing character" not in log
        assert "Overfull \\hbox" not in log  # nothing sticks out of the page
        if stem == "key":
            assert "dag-b.png" in log  # the DAG picture went into the PDF


def test_latex_prose_refuses_unknown_characters():
    assert latex_prose("Größe ∂f/∂x ≤ 1") == r"Größe $\partial$f/$\partial$x $\le$ 1"
    with pytest.raises(ValueError, match="U\\+263A"):
        latex_prose("☺")


@pytest.mark.slow
def test_pdf_through_chromium(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from dagrad.pdf import find_chromium

    if find_chromium() is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    assert main(["exercise", "--seed", "2", "--parts", "a,b", "--lang", "de", "--pdf",
                 "-o", str(tmp_path)]) == 0
    for stem, words in (("sheet", ("Übungsblatt 2", "Aufgabenstellung")),
                        ("key", ("Musterlösung", "Kettenregel"))):
        reader = pypdf.PdfReader(str(tmp_path / f"{stem}.pdf"))
        text = " ".join(p.extract_text() for p in reader.pages)
        assert all(w in text for w in words), text[:500]
        assert "/CreationDate" not in (reader.metadata or {})
        assert 1 <= len(reader.pages) <= 12
    again = tmp_path / "again"
    assert main(["exercise", "--seed", "2", "--parts", "a,b", "--lang", "de", "--pdf",
                 "--solutions", "off", "-o", str(again)]) == 0
    assert (again / "sheet.pdf").read_bytes() == (tmp_path / "sheet.pdf").read_bytes()


def test_pdf_without_chromium_says_what_to_install(tmp_path, monkeypatch, capsys):
    pytest.importorskip("pypdf")
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on it
    monkeypatch.delenv("DAGRAD_CHROMIUM", raising=False)
    out = tmp_path / "o"
    # --solutions off: the handout needs no Graphviz (PATH hides dot too)
    assert main(["exercise", "--seed", "1", "--pdf", "--solutions", "off", "-o", str(out)]) == 2
    assert "apt-get install chromium" in capsys.readouterr().err and not out.exists()
    monkeypatch.setenv("DAGRAD_CHROMIUM", str(tmp_path / "nothing"))
    assert main(["exercise", "--seed", "1", "--pdf", "--solutions", "off", "-o", str(out)]) == 2
    assert "DAGRAD_CHROMIUM" in capsys.readouterr().err and not out.exists()
    # and without Graphviz the key's DAGs are named as what is missing
    assert main(["exercise", "--seed", "1", "-o", str(out)]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err and not out.exists()


def test_write_sheet_refuses_a_file_as_folder(tmp_path):
    sheet = make_sheet(1, "a", "en", figures=False)
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="is not a folder"):
        write_sheet(sheet, target)
    with pytest.raises(ValueError, match="solutions must be one of"):
        write_sheet(sheet, tmp_path / "d", solutions="maybe")
