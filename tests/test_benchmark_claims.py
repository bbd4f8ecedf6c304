"""Published benchmark figures come from the run's data: README, docs/benchmarks.md, JSON agree.

* docs/benchmarks.md and the README's speed block are what the generators make of
  docs/benchmarks.json (so neither was edited by hand nor left behind by a newer run);
* the README's figures and claims are checked against the JSON directly (not through the
  generator): each ratio it quotes is the JSON's, "ahead of JAX jit" only where every batch
  size shows dg.compile ahead;
* no figure in the generated text is typed by hand: rendering the same data with every number
  changed changes every number on the page (a literal would stay put).
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmarks package lives beside src/, not inside it

from benchmarks import readme, report  # noqa: E402

JSON = ROOT / "docs" / "benchmarks.json"
DOCS = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
NOTES = ROOT / "benchmarks" / "notes.md"
#: A figure: digits standing alone (not part of a name such as float64 or libgomp.so.1).
FIGURE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?!\w)")


@pytest.fixture(scope="module")
def res() -> dict:
    return json.loads(JSON.read_text())


def _block() -> str:
    text = README.read_text()
    start = text.find("<!-- speed:")
    end = text.find("<!-- /speed -->")
    assert 0 <= start < end, "README.md has no generated speed block (<!-- speed: … -->)"
    return text[start:end]


# --- the published files are the generators' output for the JSON ---------------------------


def test_docs_benchmarks_md_is_rendered_from_the_json(res):
    assert DOCS.read_text() == report.render(res, NOTES.read_text()), (
        "docs/benchmarks.md differs from what docs/benchmarks.json renders to: rerun "
        "`python -m benchmarks --from-json docs/benchmarks.json`")


def test_readme_speed_block_is_generated_from_the_json(res):
    assert readme.read_block(README) == readme.speed_block(res)


# --- the README's figures and claims, checked against the JSON itself ------------------------


def _two(x: float) -> str:
    return f"{x:.2f}"


def _span(values) -> set[str]:
    """How a range of values may be written: 'lo–hi', or one figure when they round alike."""
    lo, hi = _two(min(values)), _two(max(values))
    return {lo} if lo == hi else {f"{lo}–{hi}"}


def test_readme_mlp_ratios_are_the_jsons(res):
    block = _block()
    rows = list(res["mlp"]["batches"].values())
    torch = re.search(r"eager dagrad at ([\d.–]+)× PyTorch eager's samples/s", block)
    assert torch and torch.group(1) in _span([r["ratios"]["torch"] for r in rows])
    numpy = re.search(r"and ([\d.–]+)× a hand-written NumPy", block)
    assert numpy and numpy.group(1) in _span([r["ratios"]["numpy"] for r in rows])
    jax = re.search(r"dg\.compile\(step\)`[^;]*? at ([\d.–]+)× JAX jit's", block)
    assert jax and jax.group(1) in _span([r["compiled_ratios"]["jax"] for r in rows])
    roof = re.search(r"reaches ([\d.–]+) of the GEMM roofline", block)
    assert roof and roof.group(1) in _span([r["roofline_fraction"]["dagrad compiled"]
                                            for r in rows])


def test_readme_scalar_ratios_are_the_jsons(res):
    block = _block()
    ros, ch = res["rosenbrock"]["ratios"], res["chain"]["ratios"]
    assert f"Rosenbrock ∇f**: eager dagrad in {_two(ros['micrograd'])}× micrograd's" in block
    assert f"{_two(ros['jax'])}× JAX jit's" in block
    assert f"dg.compile in {_two(res['rosenbrock']['compiled_ratios']['jax'])}× JAX" in block
    assert f"n = {res['chain']['steps']:,}**" in block
    assert f"eager dagrad in {_two(ch['micrograd'])}× micrograd's time" in block
    assert f"{_two(ch['torch'])}× PyTorch eager's" in block
    fresh = res["fresh"]["trees"][res["fresh"]["after"]]["workloads"]
    for w in ("rosenbrock", "chain"):
        assert f"({_two(fresh[w]['ratio'])}× in fresh processes" in block
    for key in ("jacobian", "persample"):
        assert f"eager dagrad in {_two(res[key]['ratios']['jax'])}× JAX jit's time" in block


def _json_figures(node, out: set[str]) -> set[str]:
    """Every figure written anywhere in the JSON (values, keys, strings), in common formats."""
    if isinstance(node, dict):
        for k, v in node.items():
            _json_figures(k, out)
            _json_figures(v, out)
    elif isinstance(node, list):
        for v in node:
            _json_figures(v, out)
    elif isinstance(node, str):
        out.update(FIGURE.findall(node))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out.update({f"{node:.2f}", f"{node:,}", str(node)})
    return out


def test_every_readme_figure_is_in_the_json(res):
    figures = _json_figures(res, set())
    block = _block()
    for text in FIGURE.findall(block):
        assert text in figures, f"README speed block quotes {text}, which the JSON does not hold"


def test_ahead_of_jax_jit_only_where_the_run_shows_it(res):
    block = _block()
    compiled = [r["compiled_ratios"]["jax"] for r in res["mlp"]["batches"].values()]
    assert ("ahead of JAX jit" in block) == all(v > 1 for v in compiled)
    assert ("behind JAX jit" in block) == all(v < 1 for v in compiled)
    assert "faster than" not in block and "slower than" not in block


@pytest.mark.parametrize("values, claim", [
    ((1.1, 1.2, 1.05), "ahead of JAX jit"), ((0.9, 1.1, 1.2), None),
    ((0.97, 0.99, 0.5), "behind JAX jit")])
def test_the_generator_claims_only_what_the_ratios_show(res, values, claim):
    data = copy.deepcopy(res)
    for r, v in zip(data["mlp"]["batches"].values(), values, strict=False):
        r["compiled_ratios"]["jax"] = v
    for r in list(data["mlp"]["batches"].values())[len(values):]:
        r["compiled_ratios"]["jax"] = values[-1]
    block = readme.speed_block(data)
    for phrase in ("ahead of JAX jit", "behind JAX jit"):
        assert (phrase in block) == (phrase == claim)


# --- no figure in generated text is typed by hand ---------------------------------------------

#: Two ways of changing every number: a figure typed by hand survives both, while a figure
#: that the first way happens to turn into another one on its line (5 → 13 beside a 13) does
#: not survive the second.
_MUTATIONS = ((1.37, 7, 0.51, str.maketrans("0123456789", "1234567890")),
              (1.61, 11, 0.73, str.maketrans("0123456789", "3456789012")))


def _mutate(node, how: int = 0):
    """The same structure with every number changed (strings: every digit shifted)."""
    scale, add, away, shift = _MUTATIONS[how]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node * scale) + add  # (0 becomes add, not 0: a count shown only when non-zero)
    if isinstance(node, float):  # away from zero by at least 0.51 (a negative too: a noise row)
        return node * scale + (away if node >= 0 else -away)
    if isinstance(node, str):
        return node.translate(shift)
    if isinstance(node, list):
        return [_mutate(v, how) for v in node]
    if isinstance(node, dict):
        return {_mutate(k, how): _mutate(v, how) for k, v in node.items()}
    return node


def _with_baseline(res: dict) -> dict:
    """The run with a baseline tree (fresh processes and profile), made up if it had none."""
    data = copy.deepcopy(res)
    fresh = data.get("fresh")
    if fresh and "trees" in fresh and not fresh.get("before"):
        fresh["before"] = "/baseline/src"
        fresh["trees"] = {"/baseline/src": copy.deepcopy(fresh["trees"][fresh["after"]]),
                          **fresh["trees"]}
    prof = data.get("profile")
    if prof and "batches" in prof:
        data["profile"] = {"before": copy.deepcopy(prof), "after": prof,
                           "paired": {b: 0.97 for b in prof["batches"]},
                           "before_src": "/baseline/src", "rate_hz": prof.get("rate_hz"),
                           "checks": prof.get("checks", {})}
    return data


def _fixed_in(a: str, b: str) -> list[tuple[int, str]]:
    """(line, figure) for the figures that read the same in both renderings."""
    la, lb = a.splitlines(), b.splitlines()
    assert len(la) == len(lb), "changing the numbers changed the page's structure"
    fixed = []
    for i, (x, y) in enumerate(zip(la, lb, strict=True)):
        fx, fy = FIGURE.findall(x), FIGURE.findall(y)
        if len(fx) == len(fy):  # the same figures in the same places: compare place by place
            same = [t for t, u in zip(fx, fy, strict=True) if t == u]
        else:
            blocks = difflib.SequenceMatcher(None, fx, fy, autojunk=False).get_matching_blocks()
            same = [t for m in blocks for t in fx[m.a:m.a + m.size]]
        fixed += [(i, t) for t in same]
    return fixed


def _fixed_figures(render, data) -> list[str]:
    """Figures of render(data) that no change of the data's numbers changes, with their lines."""
    page = render(data)
    first, second = (_fixed_in(page, render(_mutate(data, how))) for how in (0, 1))
    lines = page.splitlines()
    return [f"{t!r} in: {lines[i][:160]}" for i, t in first if (i, t) in second]


@pytest.mark.parametrize("baseline", [False, True])
def test_report_figures_all_come_from_the_data(res, baseline):
    data = _with_baseline(res) if baseline else res
    notes = NOTES.read_text()  # hand-written prose: part of the page, not of the data
    fixed = _fixed_figures(lambda d: report.render(d, notes), data)
    assert not fixed, "figures typed by hand in docs/benchmarks.md:\n" + "\n".join(fixed)


def test_readme_block_figures_all_come_from_the_data(res):
    fixed = _fixed_figures(readme.speed_block, res)
    assert not fixed, "figures typed by hand in the README's speed block:\n" + "\n".join(fixed)


# --- issue 21's sections: the training run and the compile scaling ----------------------------


def _training_run(wall: float, rss: float, acc: float, epoch_s: list[float]) -> dict:
    return {"returncode": 0, "wall_s": wall, "maxrss_mib": rss, "user_s": 2 * wall,
            "sys_s": 0.4, "test_acc": acc, "test_loss": 0.31, "epochs": 15, "train": 60000,
            "test": 10000, "sizes": [784, 256, 256, 10], "in_process_s": wall - 0.6,
            "epoch_s": epoch_s}


def _with_issue21_sections(res: dict) -> dict:
    """The run plus a training and a compile_scaling result shaped as their workloads make."""
    from benchmarks import targets

    data = copy.deepcopy(res)
    runs = {"dagrad": [_training_run(17.3, 161.0, 0.8962, [1.04, 1.02, 1.01]),
                       _training_run(17.9, 162.5, 0.8958, [1.06, 1.05, 1.03])],
            "torch": [_training_run(21.4, 702.0, 0.8951, [1.21, 1.19, 1.22]),
                      _training_run(21.8, 701.0, 0.8949, [1.23, 1.2, 1.24])]}
    data["training"] = {
        "title": "Training run: dagrad train against the same run in PyTorch",
        "dataset": "fashion-mnist", "epochs": 15, "batch": 128, "rounds": 2, "train": 60000,
        "test": 10000, "sizes": [784, 256, 256, 10],
        "order": ["dagrad", "torch", "torch", "dagrad"], "plots": True, "runs": runs,
        "summary": {k: {"wall_s": v[0]["wall_s"], "maxrss_mib": v[1]["maxrss_mib"],
                        "test_acc": v[0]["test_acc"]} for k, v in runs.items()},
        "time_ratios": [17.3 / 21.4, 17.9 / 21.8], "time_ratio": 0.8147,
        "accuracy_gap_points": 0.11, "fastest_epoch_s": {"dagrad": 1.01, "torch": 1.19},
        "fastest_epoch_ratio": 1.01 / 1.19, "checks": {"both commands finished": True}}
    rows = [{"links": n, "ops": 2 * n, "items": 4 * n - 2, "form": form, "trace_s": 3e-5 * n,
             "plan_s": 1.2e-5 * n, "generate_s": g, "first_call_s": 5.1e-5 * n + g,
             "first_call_cpu_s": 5e-5 * n + g, "us_per_item": 13.1 + n / 1e5,
             "replay_s": 1.6e-6 * n, "peak_rss_mib": 40 + n / 160}
            for n, form, g in ((1000, "generated", 0.05), (10000, "generated", 0.56),
                               (100000, "interpreted", 0.69))]
    data["compile_scaling"] = {"title": "dg.compile of a long chain's gradient: first call "
                                        "against length", "rows": rows,
                               "growth_exponent": 0.91, "checks": {"ran": True}}
    data["targets"] = targets.evaluate(data)
    return data


def test_issue21_sections_render_with_their_targets(res):
    data = _with_issue21_sections(res)
    page = report.render(data, NOTES.read_text())
    assert "## Training run: dagrad train against the same run in PyTorch" in page
    assert "## dg.compile of a long chain's gradient: first call against length" in page
    assert "`dagrad train --dataset fashion-mnist --epochs 15 --batch-size 128" in page
    assert "the 784-256-256-10 tanh MLP" in page
    assert "by round: 0.81×, 0.82× (median 0.81×)" in page
    assert "| 100,000 | 399,998 | interpreted |" in page
    assert "dagrad 1.01 s, PyTorch 1.19 s, dagrad / PyTorch 0.85×" in page
    rows = {t["what"]: t for t in data["targets"]}
    rss = rows["dagrad train, fashion-mnist, 15 epochs: peak RSS"]
    assert (rss["goal"], rss["measured"], rss["met"]) == (300.0, 162.5, True)
    time_row = rows["dagrad train, fashion-mnist, 15 epochs: wall time / PyTorch's"]
    assert (time_row["goal"], time_row["met"]) == (0.8, False)
    comp = rows["dg.compile of a 100,000-link chain's gradient: first call"]
    assert comp["goal"] == 10.0 and comp["met"] is True
    for t in data["targets"]:  # no target row breaks the markdown table
        assert "|" not in t["what"]


def test_issue21_targets_table():
    from benchmarks import targets

    assert targets.MLP_EAGER["numpy"] == 0.95 and targets.MLP_COMPILED["jax"] == 1.05
    assert targets.ROOFLINE_COMPILED == {512: 0.92}
    assert targets.FRESH_VS_MICROGRAD == {"rosenbrock": 0.7, "chain": 0.5}
    assert targets.JAX_TIME == {"jacobian": 1.0, "persample": 1.0}
    assert (targets.COMPILE_LINKS, targets.COMPILE_S) == (100_000, 10.0)
    assert (targets.TRAIN_RSS_MIB, targets.TRAIN_TIME_VS_TORCH,
            targets.TRAIN_ACCURACY_POINTS) == (300.0, 0.8, 0.3)


def test_issue21_sections_figures_all_come_from_the_data(res):
    data = _with_issue21_sections(res)
    notes = NOTES.read_text()
    fixed = _fixed_figures(lambda d: report.render(d, notes), data)
    assert not fixed, "figures typed by hand in docs/benchmarks.md:\n" + "\n".join(fixed)
