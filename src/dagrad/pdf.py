"""Print an HTML page to an A4 PDF through headless Chromium, with fixed metadata.

``write_pdf(html, pdf)`` runs Chromium's own printer (``--print-to-pdf``) on the page as a
``file://`` URL — the page's ``@page`` rule sets the paper (dagrad's pages ask for A4) — lets
its scripts run (KaTeX typesets the mathematics before the page is printed), then rewrites the
file with pypdf so that it carries no creation or modification date and no browser version: the
same HTML gives the same PDF bytes.  The result replaces ``pdf`` atomically.

Chromium is found as ``$DAGRAD_CHROMIUM``, else ``chromium``, ``chromium-browser``,
``google-chrome`` or ``google-chrome-stable`` on PATH; without it (or without pypdf)
:class:`PdfUnavailable` says what to install.
"""

from __future__ import annotations

import html.parser
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .atomic import atomic_write

__all__ = ["PdfUnavailable", "PdfError", "find_chromium", "check_available", "write_pdf",
           "write_page_pdf", "PRODUCER"]

PRODUCER = "dagrad (headless Chromium, pypdf)"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_INSTALL = ("install Debian's chromium (apt-get install chromium), or set DAGRAD_CHROMIUM to "
            "a Chrome or Chromium program")
#: Flags for a quiet, offline, reproducible print: no profile state, no network at all.
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--no-first-run", "--no-default-browser-check",
          "--run-all-compositor-stages-before-draw", "--host-resolver-rules=MAP * ~NOTFOUND")


class PdfUnavailable(RuntimeError):
    """No Chromium (or no pypdf) to print with; the message says what to install."""


class PdfError(RuntimeError):
    """Chromium ran but wrote no PDF; the message names the page and Chromium's last words."""


def find_chromium() -> str | None:
    """The Chromium program to print with: ``$DAGRAD_CHROMIUM``, else the first on PATH."""
    explicit = os.environ.get("DAGRAD_CHROMIUM")
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise PdfUnavailable(f"DAGRAD_CHROMIUM={explicit!r} is not an executable file; "
                             f"{_INSTALL}")
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def check_available(pdf_path: str | os.PathLike = "the PDF") -> str:
    """The Chromium program, after checking that Chromium and pypdf are there (else
    :class:`PdfUnavailable` saying what to install) — before any work is done."""
    chromium = find_chromium()
    if chromium is None:
        raise PdfUnavailable(f"writing {os.fspath(pdf_path)} needs headless Chromium, which "
                             f"was not found: {_INSTALL}")
    try:
        import pypdf  # noqa: F401
    except ImportError as e:
        raise PdfUnavailable(f"writing {os.fspath(pdf_path)} needs the pypdf package: "
                             "pip install 'dagrad[pdf]' (or pip install pypdf)") from e
    return chromium


class _TitleParser(html.parser.HTMLParser):
    """The text of the first <title> element of a page."""

    def __init__(self) -> None:
        super().__init__()
        self._inside = False
        self.title: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "title" and self.title is None:
            self._inside, self.title = True, ""

    def handle_endtag(self, tag):
        if tag == "title":
            self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.title = (self.title or "") + data


def _title_of(html_path: Path) -> str:
    parser = _TitleParser()
    with open(html_path, encoding="utf-8", errors="replace") as f:
        parser.feed(f.read(1 << 20))
    return " ".join((parser.title or "").split()) or html_path.stem


def _fixed_metadata(raw: bytes, title: str) -> bytes:
    """The PDF rewritten by pypdf with the same pages and only fixed metadata (no dates)."""
    try:
        import pypdf
    except ImportError as e:
        raise PdfUnavailable("writing a PDF needs the pypdf package: "
                             "pip install 'dagrad[pdf]' (or pip install pypdf)") from e
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(raw)))
    writer.metadata = None
    writer.add_metadata({"/Title": title, "/Creator": "dagrad", "/Producer": PRODUCER})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike, *,
              timeout: float = 120.0, settle_ms: int = 3000) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4 from the page's ``@page``; fixed metadata).

    ``settle_ms`` is Chromium's virtual-time budget: the page's scripts (KaTeX) run to the end
    of it before the page is printed.  Returns the PDF's path.  Raises :class:`PdfUnavailable`
    when Chromium or pypdf is missing, :class:`PdfError` when Chromium fails, ``ValueError``
    when the HTML file does not exist.
    """
    source = Path(html_path).resolve()
    target = Path(pdf_path)
    if not source.is_file():
        raise ValueError(f"write_pdf: {os.fspath(html_path)!r} is not an HTML file that exists")
    if target.parent and not target.parent.exists():
        raise ValueError(f"write_pdf: the folder of {os.fspath(pdf_path)!r} does not exist")
    chromium = check_available(pdf_path)
    with tempfile.TemporaryDirectory(prefix="dagrad-pdf-") as tmp:
        raw_pdf = Path(tmp) / "page.pdf"
        command = [chromium, *_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
                   f"--virtual-time-budget={int(settle_ms)}", f"--print-to-pdf={raw_pdf}",
                   source.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "LANG": "C.UTF-8"})
        except subprocess.TimeoutExpired as e:
            raise PdfError(f"Chromium did not print {source} within {timeout:g} s") from e
        except OSError as e:
            raise PdfUnavailable(f"could not run {chromium} ({e}); {_INSTALL}") from e
        if not raw_pdf.is_file() or raw_pdf.stat().st_size == 0:
            last = "\n".join((done.stderr or "").strip().splitlines()[-5:])
            raise PdfError(f"Chromium (exit {done.returncode}) wrote no PDF of {source}:\n{last}")
        data = _fixed_metadata(raw_pdf.read_bytes(), _title_of(source))
    with atomic_write(target, "wb") as f:
        f.write(data)
    return target


def write_page_pdf(pdf_path: str | os.PathLike, title: str, body: str, **options) -> Path:
    """Print an HTML fragment (a report's body) as a page of its own, with the print stylesheet
    and KaTeX (:func:`dagrad.web.page.html_page`), to ``pdf_path``; returns the PDF's path."""
    from .web.page import write_page

    check_available(pdf_path)
    with tempfile.TemporaryDirectory(prefix="dagrad-page-") as tmp:
        page = Path(tmp) / "page.html"
        write_page(page, title, body, **options)
        return write_pdf(page, pdf_path)
