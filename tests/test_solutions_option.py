"""--solutions off|on|only on rosenbrock, vanishing, mlp-jacobians and tour: with off no number
of the key appears anywhere in what is written (stdout, Markdown, LaTeX, HTML, the SVG's text);
with only the key is there (checked against closed forms, NumPy and PyTorch) and the questions
are not repeated."""

from __future__ import annotations

import math
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from dagrad.cli import main
from dagrad.explain.solutions import BLANK, Question, Solutions, Worksheet

NUMBER = re.compile(r"(?<![\w.])[−-]?\d+(?:[.,]\d+)*(?:e[−-]?\d+)?(?![\w])")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def numbers(text: str) -> set[str]:
    """Every number written in ``text``, minus signs normalised, thousands commas dropped."""
    return {m.replace("−", "-").replace(",", "") for m in NUMBER.findall(text)}


def visible_text(path: Path) -> str:
    """What a reader sees in a file: an SVG's text elements, an HTML page without its tags."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".svg":
        root = ET.fromstring(raw)
        return "\n".join("".join(el.itertext()) for el in root.iter()
                         if el.tag.endswith("text"))
    if path.suffix == ".html":
        return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", raw, flags=re.S))
    return raw


def everything(stdout: str, folder: Path) -> str:
    return stdout + "\n".join(visible_text(p) for p in sorted(folder.rglob("*")) if p.is_file())


def key_numbers(key_text: str, given_text: str) -> set[str]:
    """The numbers the key states that the worksheet does not give (1, 2, the point, …)."""
    found = set()
    for line in key_text.splitlines():
        if line.strip().startswith("("):  # an answer line "(label) answer"
            answer = line.split(")", 1)[1]
            found |= numbers(answer.split("=", 1)[-1] if "=" in answer else answer)
    trivial = {str(k) for k in range(-2, 11)}
    return found - numbers(given_text) - trivial


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ----- the worksheet itself ---------------------------------------------------------------------
def test_worksheet_modes() -> None:
    sheet = Worksheet("t", ["f = x²"], [Question("1", "∂f/∂x at x = 3", "∂f/∂x = 6")])
    off, only = sheet.text("off"), sheet.text("only")
    assert f"(1) ∂f/∂x at x = 3 = {BLANK}" in off and "6" not in off.replace("x = 3", "")
    assert "(1) ∂f/∂x = 6" in only and BLANK not in only and "Given" not in only
    with pytest.raises(ValueError, match="off, on, only"):
        Solutions.of("some")
    with pytest.raises(ValueError):
        sheet.text("on")
    assert "6" not in re.sub(r"<[^>]+>", "", sheet.to_html("off")).replace("x = 3", "")
    assert r"\item[(1)] $\partial$f/$\partial$x = 6" in sheet.to_latex("only")  # pdflatex-safe


# ----- rosenbrock -------------------------------------------------------------------------------
@needs_dot
def test_rosenbrock_off_hides_the_key_and_only_states_it(capsys, tmp_path) -> None:
    x1, x2 = 1.5, 2.0
    grad = (-400 * x1 * (x2 - x1**2) - 2 * (1 - x1), 200 * (x2 - x1**2))  # by hand
    assert grad == (151.0, -50.0)
    off_dir, only_dir = tmp_path / "off", tmp_path / "only"
    off_dir.mkdir()
    only_dir.mkdir()
    code, off, _ = run(capsys, "rosenbrock", "--solutions", "off", "-o", str(off_dir / "f.svg"))
    assert code == 0
    code, only, _ = run(capsys, "rosenbrock", "--solutions", "only", "-o",
                        str(only_dir / "f.svg"))
    assert code == 0
    assert "(a9) x̄1 = 151" in only and "(g1) ∇f = (∂f/∂x1, ∂f/∂x2) = (151, −50)" in only
    assert "(v7) f = 6.5" in only and "(e4) ∂v3/∂v2 = 2·v2 = −0.5" in only
    assert BLANK not in only and "Given" not in only and "Fill in" not in only
    assert off.count(BLANK) == 7 + 9 + 9 + 1  # nodes, edges, adjoints, the gradient
    given = off.split("Fill in:")[0]
    key = key_numbers(only, given)
    assert {"151", "-50", "6.5", "2.25", "0.0625", "6.25", "-0.25", "0.25"} <= key
    written = everything(off, off_dir)
    assert not key & numbers(written), key & numbers(written)
    svg = visible_text(off_dir / "f.svg")
    assert "∂v1/∂x1" in svg and "2·x1" not in svg and "value" not in svg  # no formulas
    key_svg = visible_text(only_dir / "f.svg")
    assert "2·x1" in key_svg and "151" in key_svg


def test_rosenbrock_off_refuses_the_stepper_page(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "rosenbrock", "--solutions", "off", "--html",
                       str(tmp_path / "s.html"))
    assert code == 2 and "--html cannot be used with --solutions off: it shows the answers" in err
    assert not (tmp_path / "s.html").exists()
    with pytest.raises(SystemExit) as info:
        main(["rosenbrock", "--solutions", "maybe"])
    assert info.value.code == 2 and "invalid choice: 'maybe'" in capsys.readouterr().err


# ----- vanishing --------------------------------------------------------------------------------
def sigmoid_chain(x: float, w: list[float]) -> list[float]:
    """∂h_n/∂w_i of h_i = σ(w_i h_(i−1)) by the closed form, written here."""
    s = [x]
    for wk in w:
        s.append(1 / (1 + math.exp(-wk * s[-1])))
    d = [sk * (1 - sk) for sk in s[1:]]  # σ'(u_k) = σ(1 − σ)
    n = len(w)
    return [s[i] * d[i] * math.prod(w[k] * d[k] for k in range(i + 1, n)) for i in range(n)]


def test_vanishing_off_and_only(capsys, tmp_path) -> None:
    w = [0.5, -0.75, 0.9]
    expected = [f"{v:.6g}" for v in sigmoid_chain(1.0, w)]
    args = ["vanishing", "--depth", "3", "--weights", ",".join(map(str, w)),
            "--activations", "sigmoid,tanh"]
    code, off, _ = run(capsys, *args, "--solutions", "off", "--markdown",
                       str(tmp_path / "ws.md"), "--latex", str(tmp_path / "ws.tex"))
    assert code == 0
    code, only, _ = run(capsys, *args, "--solutions", "only")
    assert code == 0
    for i, value in enumerate(expected, start=1):
        assert f"(sigmoid.{i}) ∂h_3/∂w_{i} = {value.replace('-', '−')}" in only
    assert BLANK not in only and "Given" not in only
    key = key_numbers(only, off.split("Fill in:")[0])
    assert set(expected) <= key
    assert not key & numbers(everything(off, tmp_path))
    code, _, err = run(capsys, *args, "--solutions", "off", "-o", str(tmp_path / "p.svg"))
    assert code == 2 and "shows the answers" in err
    code, _, err = run(capsys, "vanishing", "--mlp", "--solutions", "off")
    assert code == 2 and "--solutions applies to the chain" in err


# ----- mlp-jacobians ----------------------------------------------------------------------------
def torch_oracle() -> tuple[float, np.ndarray]:
    """L and ∇x L of the command's model and digit by PyTorch autograd."""
    torch = pytest.importorskip("torch")
    import dagrad as dg

    X, y = dg.data.load_sample("test")
    model = dg.nn.MLP([784, 256, 256, 10], activation="tanh", output="softmax", seed=0)
    params = dict(model.named_parameters())
    x = torch.tensor(X[0].reshape(-1).astype(np.float64) / 255, requires_grad=True)
    h = x
    for k in range(3):
        W = torch.tensor(np.asarray(params[f"{2 * k}.weight"].data, np.float64))
        b = torch.tensor(np.asarray(params[f"{2 * k}.bias"].data, np.float64))
        h = h @ W.T + b
        h = torch.tanh(h) if k < 2 else torch.softmax(h, dim=-1)
    loss = -torch.log(h[int(y[0])])
    loss.backward()
    return float(loss.detach()), x.grad.numpy()


@needs_dot
def test_mlp_jacobians_off_and_only(capsys, tmp_path) -> None:
    code, off, _ = run(capsys, "mlp-jacobians", "--solutions", "off", "-o", str(tmp_path / "w"))
    assert code == 0
    code, only, _ = run(capsys, "mlp-jacobians", "--solutions", "only", "-o",
                        str(tmp_path / "k"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [
        "worksheet-dag.svg", "worksheet.html", "worksheet.md", "worksheet.tex"]
    loss, grad_x = torch_oracle()
    assert f"(L) L = {loss:.6g}" in only
    top = int(np.argmax(np.abs(grad_x)))
    assert f"[{top}] {grad_x[top]:.6g}".replace("-", "−") in only
    assert "(x.4) J_z1(x) (256×784)" in only and "(W1.size) ∇_W1 L is 256×784" in only
    assert BLANK not in only and "Given" not in only
    written = everything(off, tmp_path / "w")
    assert f"{loss:.6g}" not in written and f"{abs(grad_x[top]):.6g}" not in written
    assert "256×784" not in written and "10×256" not in written  # the sizes are to fill in
    assert "J_z1(x)" not in written  # the factors too
    key = {n for n in key_numbers(only, off.split("Fill in:")[0]) if "." in n}
    assert key and not key & numbers(written)


# ----- tour -------------------------------------------------------------------------------------
@needs_dot
def test_tour_off_and_only(capsys, tmp_path) -> None:
    code, off, _ = run(capsys, "tour", "--solutions", "off", "--only", "a,b,c", "-o",
                       str(tmp_path / "ws"))
    assert code == 0
    code, only, _ = run(capsys, "tour", "--solutions", "only", "--only", "a,b,c", "-o",
                        str(tmp_path / "key"))
    assert code == 0
    ws_html = visible_text(tmp_path / "ws" / "worksheet.html")
    key_html = visible_text(tmp_path / "key" / "key.html")
    assert "x̄1 = 151" in key_html and "x̄1 = ∂f/∂x1 = " + BLANK in ws_html
    assert BLANK not in key_html
    assert not (tmp_path / "ws" / "index.html").exists()  # no worked report beside it
    written = everything(off, tmp_path / "ws")
    for value in ("151", "6.25", "0.0625", "2.25"):
        assert value not in numbers(written)
    assert "151" in numbers(everything(only, tmp_path / "key"))
