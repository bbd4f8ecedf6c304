"""One self-contained HTML page that steps through a Graph's forward and backward passes.

The DAG is laid out by Graphviz when the page is written and inlined as SVG (with ids on nodes,
edges and their value/adjoint rows) into ``stepper.html``; ``stepper.js`` and ``stepper.css``
ship with the package and are inlined too, so the page works offline and fetches nothing (its
Content-Security-Policy forbids it, and allows only the one inline script, by hash).  The data —
nodes, edges, steps — is JSON in a ``<script type="application/json">`` block with ``<``, ``>``
and ``&`` escaped, and the script shows it with ``textContent`` only, so no name or label can
become markup.

The page's own words (buttons, headings, quiz feedback, the score) are in the language ``_()``
writes when the page is made (``--lang``): :mod:`dagrad.dag.stepper_text` fills the template's
fixed text and hands the script its sentences as ``data.ui``, with ``{name}`` placeholders the
script fills in.

With ``quiz=True`` the page is the same, but every local derivative and adjoint of the backward
pass is asked before it is shown (:mod:`dagrad.dag.quiz` writes the questions; the script reads
the student's answer with a small arithmetic reader of its own, never ``eval``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_write
from ..i18n import _
from .kinds import CONST
from .limit import check_size
from .stepper_text import page_labels, script_text

if TYPE_CHECKING:
    from .model import Graph

__all__ = ["page", "write", "json_for_html"]

TITLE_NODES = 60  # above this many nodes the default title is not the whole formula


def json_for_html(data: Any) -> str:
    """JSON safe inside a <script> element: ``<``, ``>``, ``&`` and line separators escaped."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _asset(name: str) -> str:
    return resources.files("dagrad.dag").joinpath(name).read_text(encoding="utf-8")


def _default_title(graph: Graph) -> str:
    """``f = 100·(x2 − x1²)² + (1 − x1)²`` where SymPy can say it, else the output's name."""
    out = graph.output.name
    if len(graph.nodes) > TITLE_NODES:
        return _("the graph of {out}").format(out=out)
    try:
        from .symbolic import pretty_text

        return f"{out} = {pretty_text(graph.forward_formula())}"
    except Exception:  # noqa: BLE001 - a title is never worth failing the page for
        return _("the graph of {out}").format(out=out)


def page(graph: Graph, constants: str = "nodes", rankdir: str = "LR", title: str | None = None,
         max_nodes: int | None = None, quiz: bool = False) -> str:
    """The stepper page as one HTML string (Graphviz lays out the SVG now); ``quiz`` asks each
    local derivative and adjoint of the backward pass before showing it."""
    from .render import run_dot, to_dot
    from .steps import stepper_data
    from .svg_inline import inline_svg

    shown = sum(1 for n in graph.nodes if not (constants == "fold" and n.kind == CONST))
    check_size(shown, max_nodes)
    title = title or _default_title(graph)
    source = to_dot(graph, values=True, constants=constants, rankdir=rankdir,
                    max_nodes=max_nodes, ids=True)
    svg = inline_svg(run_dot(source, "svg"))
    js = _asset("stepper.js")
    css = _asset("stepper.css")
    if "</script" in js.lower() or "</style" in css.lower():
        raise ValueError("stepper.js / stepper.css must not close their own element")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
           "base-uri 'none'; form-action 'none'")
    content = stepper_data(graph, title, constants=constants)
    if quiz:
        from .quiz import RTOL, questions

        asked = questions(content)
        if not asked:
            raise ValueError(_("quiz: this graph has no scalar local derivative or adjoint "
                               "to ask (the quiz asks numbers; step through it without "
                               "--quiz)"))
        content["quiz"] = {"questions": asked, "rtol": RTOL}
    content["ui"] = script_text()
    data = json_for_html(content)
    values = {k: html.escape(v) for k, v in page_labels().items()}
    values.update({"csp": csp, "title": html.escape(title), "css": css, "svg": svg,
                   "output": html.escape(graph.output.name), "data": data, "js": js})
    # one pass: what is filled in is never scanned for placeholders again
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], _asset("stepper.html"))


def write(graph: Graph, path: str | os.PathLike, constants: str = "nodes", rankdir: str = "LR",
          title: str | None = None, max_nodes: int | None = None, quiz: bool = False) -> str:
    """Write the stepper page to ``path`` atomically (temp file + os.replace); returns path."""
    text = page(graph, constants=constants, rankdir=rankdir, title=title, max_nodes=max_nodes,
                quiz=quiz)
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)
    return os.fspath(path)
