"""Write a sheet: handout and key as Markdown, HTML and LaTeX, the DAGs, and PDFs on request.

File names are fixed (``sheet.*`` the handout, ``key.*`` the solution key, ``dag-b.svg`` and
``dag-c.svg`` with a ``.png`` beside each for pdflatex), so the same seed writes the same files
byte for byte.  Every file is written atomically; the PDFs come from the HTML pages through
headless Chromium (:func:`dagrad.pdf.write_pdf`, fixed metadata).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..atomic import atomic_write
from .sheet import Sheet

__all__ = ["SOLUTIONS", "write_sheet"]

#: --solutions: off (the handout only), on (handout and key), only (the key only)
SOLUTIONS = ("off", "on", "only")


def _write(path: Path, data: str | bytes) -> Path:
    binary = isinstance(data, bytes)
    with atomic_write(path, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
        f.write(data)
    return path


def write_sheet(sheet: Sheet, out: str | os.PathLike, solutions: str = "on",
                pdf: bool = False) -> list[Path]:
    """Write the sheet's files into ``out`` (created if missing); returns the paths written."""
    if solutions not in SOLUTIONS:
        raise ValueError(f"solutions must be one of {', '.join(SOLUTIONS)}, got {solutions!r}")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"exercise: {os.fspath(out)!r} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    if solutions != "only":
        docs.append(("sheet", sheet.handout))
    if solutions != "off":
        docs.append(("key", sheet.key))
    written: list[Path] = []
    if solutions != "off" and sheet.figures:
        from ..explain.picture import render

        for name, (dot, svg) in sheet.figures.items():
            written.append(_write(folder / f"{name}.svg",
                                  '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
                                  + svg))
            render(dot, folder / f"{name}.png")
            written.append(folder / f"{name}.png")
    for stem, doc in docs:
        written.append(_write(folder / f"{stem}.md", doc.to_markdown()))
        written.append(_write(folder / f"{stem}.tex", doc.to_latex()))
        written.append(_write(folder / f"{stem}.html", doc.to_html()))
    if pdf:
        from ..pdf import write_pdf

        for stem, _doc in docs:
            written.append(write_pdf(folder / f"{stem}.html", folder / f"{stem}.pdf"))
    return written
