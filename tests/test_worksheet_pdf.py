"""Worksheets and keys go on paper: ``--solutions off|only --pdf`` prints them through headless
Chromium, and the worksheet's PDF holds the questions but none of the key's numbers."""

from __future__ import annotations

import shutil

import pytest

from dagrad.cli import main

pypdf = pytest.importorskip("pypdf")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (shutil.which("chromium") or shutil.which("google-chrome")) or not shutil.which("dot"),
    reason="needs headless Chromium and Graphviz's dot (scripts/test.sh installs both)")]


def _text(path) -> tuple[int, str]:
    reader = pypdf.PdfReader(str(path))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def test_rosenbrock_worksheet_and_key_print(tmp_path, capsys):
    sheet, key = tmp_path / "sheet.pdf", tmp_path / "key.pdf"
    assert main(["rosenbrock", "--solutions", "off", "--pdf", str(sheet)]) == 0
    assert main(["rosenbrock", "--solutions", "only", "--pdf", str(key)]) == 0
    pages, text = _text(sheet)
    assert pages >= 1 and "worksheet" in text and "x1 → v1" in text
    assert "151" not in text and "−50" not in text and "-50" not in text   # no answer
    _, text = _text(key)
    assert "key" in text and "151" in text                                  # ∇f = (151, −50)
    assert "/tmp/dagrad-sheet" not in capsys.readouterr().out              # no scratch paths


def test_tour_worksheet_prints_every_part(tmp_path):
    pdf = tmp_path / "worksheet.pdf"
    assert main(["tour", "--solutions", "off", "--only", "a,b", "-o", str(tmp_path / "w"),
                 "--pdf", str(pdf)]) == 0
    pages, text = _text(pdf)
    assert pages >= 2 and "vanishing" in text and "x1 → v1" in text and "151" not in text
