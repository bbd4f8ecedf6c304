"""Run the tour's parts and assemble ``index.html`` and ``report.md`` from their sections."""

from __future__ import annotations

import html
import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_write

# part key -> (module, title)
PARTS: dict[str, tuple[str, str]] = {
    "a": (".part_a", "(a) Vanishing gradients in a deep chain"),
    "b": (".part_b", "(b) The Rosenbrock function as a DAG"),
    "c": (".part_c", "(c) The MLP's gradient as a chain of Jacobians"),
    "train": (".part_train", "Training the sheet's MLP on real digits"),
}


@dataclass
class Section:
    """One part of the report: what the terminal prints and what the page shows."""

    key: str
    title: str
    summary: list[str]
    html: str
    markdown: str
    files: list[str] = field(default_factory=list)
    ok: bool = True
    seconds: float = 0.0


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1d2330;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #dde3ee;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #d5dbe6;padding:.25em .55em;text-align:right}
th{background:#f1f4f9} pre{background:#f6f8fb;padding:.8em;overflow-x:auto;font-size:.85em}
img{max-width:100%;border:1px solid #e3e7ef;margin:.5em 0} .ok{color:#16733a} .bad{color:#b3261e}
nav a{margin-right:1em} .files a{margin-right:.8em;font-size:.9em}
summary{cursor:pointer;color:#2a5db0;margin:.6em 0}
"""


def _page(sections: Sequence[Section], seconds: float) -> str:
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    body = []
    for s in sections:
        status = '<span class="ok">all checks pass</span>' if s.ok else \
            '<span class="bad">a check failed — see below</span>'
        files = "".join(f'<a href="{html.escape(f)}">{html.escape(f)}</a>' for f in s.files)
        body.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>'
                    f"<p>{status} · {s.seconds:.1f} s</p>"
                    f'<p class="files">files: {files}</p>'
                    "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in s.summary)
                    + f"</ul>{s.html}</section>")
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>dagrad tour</title><style>{_CSS}</style></head><body>"
            "<h1>dagrad — the exercise sheet, worked</h1>"
            "<p>Backpropagation you can see and trust: every number below was computed by "
            "dagrad and checked against an independent closed form. "
            f"Made by <code>dagrad tour</code> in {seconds:.1f} s.</p>"
            f"<nav>{nav}</nav>{''.join(body)}</body></html>\n")


def write_report(out: Path, sections: Sequence[Section], seconds: float) -> Path:
    """Write ``index.html`` and ``report.md`` for the sections; return the index path."""
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    with atomic_write(index, "w") as f:
        f.write(_page(sections, seconds))
    md = "# dagrad — the exercise sheet, worked\n\n" + "\n\n".join(
        f"## {s.title}\n\n" + s.markdown.strip() for s in sections) + "\n"
    with atomic_write(out / "report.md", "w") as f:
        f.write(md)
    return index


def run_tour(out: Path, only: Sequence[str] | None = None,
             log: Callable[[str], object] = print) -> tuple[list[Section], Path]:
    """Run the chosen parts (all by default) into ``out``; print a summary; return sections."""
    keys = list(only) if only else list(PARTS)
    unknown = [k for k in keys if k not in PARTS]
    if unknown:
        raise ValueError(f"--only: unknown part {', '.join(unknown)}; choose from "
                         f"{', '.join(PARTS)}")
    t0 = time.perf_counter()
    sections = []
    for key in keys:
        module, title = PARTS[key]
        log(f"{title} …")
        start = time.perf_counter()
        part = importlib.import_module(module, __package__)
        section = part.run(out)
        section.seconds = time.perf_counter() - start
        for line in section.summary:
            log("  " + line)
        sections.append(section)
    index = write_report(out, sections, time.perf_counter() - t0)
    return sections, index
