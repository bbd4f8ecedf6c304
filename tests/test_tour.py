"""The main job: ``dagrad tour`` works the whole sheet into one report, on the embedded data."""

from __future__ import annotations

import html
import re

import pytest

from dagrad.cli import main


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour") / "dagrad-report"
    code = main(["tour", "-o", str(out)])
    return code, out


def test_tour_runs_end_to_end_and_every_check_passes(report, capsys):
    code, out = report
    assert code == 0
    index = (out / "index.html").read_text()
    for part in ("(a) Vanishing", "(b) The Rosenbrock", "(c) The MLP", "Training"):
        assert part in index
    assert "a check failed" not in index and "CHECK FAILED" not in index
    assert index.count("expected results hold") == 4
    # the page claims exactly the checks its parts list, each with its oracle
    assert "5 of 5 independent checks pass" in index and "2 of 2 independent checks pass" in index
    assert "(a) 5: 4 against a closed form, 1 against a closed form with SymPy&#x27;s σ&#x27;" \
        in index
    assert "checked against an independent closed form" not in index
    assert index.count("<h3>Independent checks</h3>") + 1 == index.count("independent checks pass")
    # every file the page links to exists (the inlined KaTeX scripts hold no links)
    markup = re.sub(r"<script>.*?</script>", "", index, flags=re.S)
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', markup):
        assert (out / html.unescape(ref)).exists(), ref


def test_tour_writes_figures_and_sources(report):
    _, out = report
    for f in ("a/vanishing.svg", "a/vanishing.png", "a/flow.png", "a/vanishing.tex",
              "b/rosenbrock.svg", "b/stepper.html", "b/derivation.tex", "c/dag.svg",
              "c/report.tex", "c/report.md", "train/curves.png", "train/confusion.png",
              "train/metrics.json", "report.md"):
        assert (out / f).stat().st_size > 100, f
    assert (out / "a/vanishing.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "151" in md and "1×784" in md


def test_tour_summary_ends_with_the_report_path(tmp_path, capsys):
    code = main(["tour", "-o", str(tmp_path / "r"), "--only", "b"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert "∇f = (151, -50)" in "\n".join(lines)
    assert lines[-1] == f"report: {tmp_path / 'r' / 'index.html'}"


def test_tour_rejects_unknown_parts(tmp_path, capsys):
    assert main(["tour", "-o", str(tmp_path), "--only", "z"]) == 2
    assert "unknown part z" in capsys.readouterr().err
