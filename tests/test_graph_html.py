"""The backprop stepper page without a browser: self-contained, escaped, atomic, on the CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil

import numpy as np
import pytest

import dagrad as dg
from dagrad.cli import main
from dagrad.dag.html import json_for_html, page
from dagrad.dag.limit import GraphTooLargeError
from dagrad.dag.steps import stepper_data
from dagrad.dag.svg_inline import inline_svg

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed")
HOSTILE = "<img src=x onerror=alert(1)>"
ROSENBROCK = "100*(x2 - x1**2)**2 + (1 - x1)**2"


def rosen(x1, x2):
    return 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2


@pytest.fixture(scope="module")
def rg():
    return dg.trace(rosen, 1.5, 2.0)


def _data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="dg-data">(.*?)</script>', text, re.S)
    assert m, "no JSON data block"
    return json.loads(m.group(1))


# ----- JSON inside the page -------------------------------------------------------------------
def test_json_for_html_escapes_markup_and_round_trips():
    data = {"name": "</script><script>alert(1)</script>", "amp": "a & b", "sep": "x\u2028y",
            "n": 1.5, "unicode": "x̄1 ∂f/∂x1 −50"}
    text = json_for_html(data)
    assert not set("<>&") & set(text)
    assert "\u2028" not in text and "</" not in text
    assert "\\u003c/script\\u003e" in text
    assert json.loads(text) == data


def test_json_for_html_refuses_nan():
    with pytest.raises(ValueError):
        json_for_html({"x": float("nan")})


# ----- the steps ------------------------------------------------------------------------------
def test_steps_follow_reverse_mode(rg):
    d = stepper_data(rg, "t")
    fwd = [s for s in d["steps"] if s["phase"] == "forward"]
    back = [s for s in d["steps"] if s["phase"] == "backward"]
    assert [s["text"] for s in fwd][:3] == ["x1 = 1.5   (input)", "x2 = 2   (input)",
                                            "v1 = x1² = 2.25"]
    assert len(fwd) == 9 and len(back) == 11
    assert back[0]["kind"] == "seed" and back[0]["text"] == "f̄ = ∂f/∂f = 1"
    texts = [s["text"] for s in back]
    assert "v̄3 · ∂v3/∂v2 = 100 · (2·v2 = −0.5) = −50  → v̄2" in texts
    assert texts[-1] == "x̄1 = 150 + 1 = 151"
    assert d["gradient"] == "∇f = (∂f/∂x1, ∂f/∂x2) = (151, −50)"
    # the contributions add up to the engine's adjoints, node by node
    sums: dict[int, float] = {}
    for s in back:
        if s["kind"] == "edge":
            sums[s["node"]] = sums.get(s["node"], 0.0) + s["contribution"]
    for n in rg.nodes:
        if n.kind == "leaf" or (n.kind == "op" and n is not rg.output):
            assert sums[n.index] == pytest.approx(float(n.grad))


def test_steps_for_tensor_graphs_and_unused_inputs():
    x = dg.tensor([1.0, -2.0, 3.0], requires_grad=True, dtype="float64", name="x")
    w = dg.tensor([[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]], requires_grad=True, dtype="float64",
                  name="W")
    g = dg.graph(dg.tanh(w @ x).sum())
    d = stepper_data(g, "t")
    edges = [s for s in d["steps"] if s["kind"] == "edge"]
    by_name = {n["name"]: n for n in d["nodes"]}
    assert np.allclose(by_name["x"]["adjoint"], g["x"].grad)
    for s in edges:
        assert np.allclose(s["contribution"], g[d["nodes"][s["node"]]["name"]].grad)
    unused = dg.trace(lambda a, b: a * 2, 1.0, 5.0)
    d = stepper_data(unused, "t")
    assert any(s["kind"] == "zero" and "f does not depend on b" in s["note"]
               for s in d["steps"])


def test_non_scalar_output_has_no_backward_steps():
    x = dg.tensor([1.0, 2.0], requires_grad=True, dtype="float64")
    d = stepper_data(dg.graph(x * 3), "t")
    assert {s["phase"] for s in d["steps"]} == {"forward"}
    assert d["gradient"] == ""


# ----- the page -------------------------------------------------------------------------------
@needs_dot
def test_page_is_self_contained(rg):
    text = page(rg)
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    assert not re.search(r"<(link|img|iframe|object|embed|base)\b", text, re.I)
    assert "@import" not in text and "url(" not in text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", text, re.S)
    assert len(scripts) == 2 and scripts[0][0] == ' type="application/json" id="dg-data"'
    digest = base64.b64encode(hashlib.sha256(scripts[1][1].encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    assert "default-src 'none'" in csp and f"script-src 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


@needs_dot
def test_page_svg_has_our_ids(rg):
    text = page(rg)
    for n in rg.nodes:
        assert f'id="dg-n{n.index}"' in text
        if n.kind != "const":
            assert f'id="a_dg-n{n.index}-value"' in text
            assert f'id="a_dg-n{n.index}-adjoint"' in text
    for k in range(len(rg.edges)):
        assert f'id="dg-e{k}"' in text
    assert "<title>" not in text.split("<body>")[1]  # no native tooltips with Graphviz ids
    assert "<a " not in text and "xlink" not in text
    d = _data(text)
    assert [n["name"] for n in d["nodes"]] == [n.name for n in rg.nodes]


@needs_dot
def test_folded_constants_are_left_out(rg):
    text = page(rg, constants="fold", rankdir="TB", title="Rosenbrock")
    d = _data(text)
    consts = [n for n in d["nodes"] if n["kind"] == "const"]
    assert consts and not any(n["shown"] for n in consts)
    for n in consts:
        assert f'id="{n["id"]}"' not in text
    assert "<h1 id=\"dg-title\">Rosenbrock</h1>" in text


@needs_dot
def test_hostile_names_are_escaped_everywhere(tmp_path):
    x = dg.tensor(1.5, requires_grad=True, dtype="float64", name=HOSTILE)
    y = dg.tensor(2.0, requires_grad=True, dtype="float64", name='"><script>alert(2)</script>')
    g = dg.graph(x * y + x)
    out = g.to_html(tmp_path / "evil.html", title="</title><script>alert(3)</script>")
    text = (tmp_path / "evil.html").read_text(encoding="utf-8")
    assert out == str(tmp_path / "evil.html")
    assert "<img" not in text
    assert "<script>alert" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # in the SVG, as text
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in text  # in the JSON
    assert len(re.findall(r"<script\b", text)) == 2
    d = _data(text)
    assert {n["name"] for n in d["nodes"]} >= {HOSTILE, '"><script>alert(2)</script>'}


def test_inline_svg_keeps_drawing_and_drops_active_content():
    svg = ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
           'xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" onload="alert(1)">'
           '<script>alert(2)</script><title>t</title><foreignObject><div>x</div></foreignObject>'
           '<g id="a" class="node" onclick="alert(3)"><a xlink:href="javascript:alert(4)" '
           'href="javascript:alert(5)"><text x="1">&lt;b&gt; &amp; y</text></a></g></svg>')
    out = inline_svg(svg)
    assert out.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="10pt">')
    for bad in ("alert", "script", "onload", "onclick", "javascript", "foreignObject", "<title",
                "<a ", "<div"):
        assert bad not in out
    assert '<g id="a" class="node"><text x="1">&lt;b&gt; &amp; y</text></g>' in out
    with pytest.raises(ValueError):
        inline_svg("<html/>")


@needs_dot
def test_write_is_atomic(rg, tmp_path):
    path = tmp_path / "page.html"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(GraphTooLargeError):
        rg.to_html(path, max_nodes=3)
    assert path.read_text(encoding="utf-8") == "old"
    assert rg.to_html(path) == str(path)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]  # no temp files left


# ----- the command line -----------------------------------------------------------------------
@needs_dot
def test_cli_graph_html(tmp_path, capsys):
    out = tmp_path / "g.html"
    assert main(["graph", ROSENBROCK, "--at", "x1=1.5,x2=2", "--html", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    d = _data(text)
    assert d["title"] == f"f = {ROSENBROCK}"
    assert d["steps"][-1]["text"] == "x̄1 = 150 + 1 = 151"


@needs_dot
def test_cli_rosenbrock_html_and_picture(tmp_path, capsys):
    html, svg = tmp_path / "r.html", tmp_path / "r.svg"
    assert main(["rosenbrock", "--html", str(html), "-o", str(svg)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {html}" in text and f"wrote {svg}" in text
    d = _data(html.read_text(encoding="utf-8"))
    assert d["title"].startswith("Rosenbrock")
    assert not any(n["shown"] for n in d["nodes"] if n["kind"] == "const")  # folded


def test_cli_html_refuses_bad_paths(tmp_path, capsys):
    assert main(["graph", "x*y", "--at", "x=1,y=2", "--html", str(tmp_path / "a.txt")]) == 2
    assert "must end in .html" in capsys.readouterr().err
    missing = tmp_path / "nope" / "a.html"
    assert main(["rosenbrock", "--html", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["graph", "x*y", "--at", "x=1,y=2", "--html", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_cli_graph_html_hostile_expression_is_refused_by_the_parser(tmp_path, capsys):
    out = tmp_path / "h.html"
    assert main(["graph", "<img src=x onerror=alert(1)>", "--html", str(out)]) == 2
    assert not out.exists()


def test_stepper_script_never_parses_data_as_markup():
    from importlib import resources

    js = resources.files("dagrad.dag").joinpath("stepper.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setTimeout(\"", "fetch(", "XMLHttpRequest", "import("):
        assert sink not in js, sink
    assert "textContent" in js
