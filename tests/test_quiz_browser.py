"""Quiz mode of the stepper (Graph.to_html(path, quiz=True), --quiz): the questions against the
closed forms of the Rosenbrock function, and the page in headless Chromium (Playwright): a right
answer, a wrong one, a fraction, an unreadable one, a hint, a shown answer and the score."""

from __future__ import annotations

import json
import re

import pytest

import dagrad as dg
from dagrad.dag.quiz import questions
from dagrad.dag.steps import stepper_data
from test_stepper_browser import Page, browser, rosen  # noqa: F401 - browser is a fixture

X1, X2 = 1.5, 2.0


@pytest.fixture(scope="module")
def rosen_graph():
    return dg.trace(rosen, X1, X2)


@pytest.fixture(scope="module")
def quiz_html(rosen_graph, tmp_path_factory):
    path = tmp_path_factory.mktemp("quiz") / "quiz.html"
    rosen_graph.to_html(path, quiz=True)
    return path


@pytest.fixture
def quiz_page(browser, quiz_html):  # noqa: F811 - the imported fixture
    p = Page(browser, quiz_html)
    yield p
    p.context.close()


def closed_forms() -> dict[str, float]:
    """The sheet's numbers by hand: v1 = x1², v2 = x2 − v1, v3 = v2², v4 = 100 v3,
    v5 = 1 − x1, v6 = v5², f = v4 + v6."""
    v2, v5 = X2 - X1**2, 1 - X1
    return {"∂f/∂v4": 1, "∂f/∂v6": 1, "∂v6/∂v5": 2 * v5, "∂v5/∂x1": -1, "∂v4/∂v3": 100,
            "∂v3/∂v2": 2 * v2, "∂v2/∂x2": 1, "∂v2/∂v1": -1, "∂v1/∂x1": 2 * X1,
            "v̄4": 1, "v̄6": 1, "v̄5": 2 * v5, "v̄3": 100, "v̄2": 200 * v2, "x̄2": 200 * v2,
            "v̄1": -200 * v2, "x̄1": -400 * X1 * v2 - 2 * v5}


def key(q: dict) -> str:
    return q["prompt"].split(" ")[0]


def test_questions_are_the_backward_pass_with_closed_form_answers(rosen_graph) -> None:
    asked = questions(stepper_data(rosen_graph, "t"))
    expected = closed_forms()
    assert sorted(key(q) for q in asked) == sorted(expected)  # every edge and adjoint, once
    for q in asked:
        assert q["answer"] == pytest.approx(expected[key(q)], abs=1e-12), q["prompt"]
    x1 = next(q for q in asked if key(q) == "x̄1")
    assert x1["answer"] == 151.0
    assert "x1 feeds: x1 → v1, x1 → v5" in x1["hint"]
    d32 = next(q for q in asked if key(q) == "∂v3/∂v2")
    assert "the edges that feed v3: v2 → v3" in d32["hint"]
    assert "v3 = v2²" in d32["hint"]
    # the step order: an edge's derivative is asked before the adjoint that step completes
    kinds = [(q["step"], q["kind"]) for q in asked]
    assert kinds == sorted(kinds, key=lambda sk: (sk[0], sk[1] == "adjoint"))


def test_quiz_page_carries_the_questions_and_plain_page_does_not(rosen_graph, tmp_path) -> None:
    plain = tmp_path / "plain.html"
    rosen_graph.to_html(plain)
    quiz = tmp_path / "quiz.html"
    rosen_graph.to_html(quiz, quiz=True)
    data = json.loads(re.search(r'id="dg-data">(.*?)</script>', quiz.read_text()).group(1))
    assert len(data["quiz"]["questions"]) == len(closed_forms())
    assert data["quiz"]["rtol"] == 1e-6
    plain_data = re.search(r'id="dg-data">(.*?)</script>', plain.read_text()).group(1)
    assert "quiz" not in json.loads(plain_data)


def test_quiz_needs_scalar_questions(tmp_path) -> None:
    x = dg.tensor([1.0, 2.0], requires_grad=True, dtype="float64", name="x")
    g = dg.graph(x * x)  # a vector output: no backward pass to ask about
    with pytest.raises(ValueError, match="quiz"):
        g.to_html(tmp_path / "q.html", quiz=True)


def answer(p: Page, text: str) -> str | None:
    p.page.fill("#dg-answer", text)
    p.page.click("#dg-check")
    return p.page.get_attribute("#dg-feedback", "data-verdict")


def score(p: Page) -> dict[str, int]:
    return {k: int(p.page.get_attribute("#dg-score", f"data-{k}"))
            for k in ("right", "wrong", "hints", "shown", "answered")}


def prompt(p: Page) -> str:
    return p.page.text_content("#dg-question").removesuffix(" =")


def test_right_wrong_fraction_hint_and_score(quiz_page) -> None:
    p = quiz_page
    expected = closed_forms()
    assert not p.page.is_visible("#dg-quiz")
    p.page.click("#dg-backward-pass")  # the seed f̄ = 1 asks nothing
    assert not p.page.is_visible("#dg-quiz")
    p.page.click("#dg-next")
    assert p.page.is_visible("#dg-quiz")
    assert prompt(p) == "∂f/∂v4 at this point"
    assert p.page.is_disabled("#dg-next")  # nothing further until it is answered
    assert "answer the question" in p.page.text_content("#dg-steps li.dg-current")
    assert answer(p, "2") == "wrong"
    assert "is not ∂f/∂v4" in p.page.text_content("#dg-feedback")
    assert score(p) == {"right": 0, "wrong": 1, "hints": 0, "shown": 0, "answered": 0}
    assert answer(p, "1") == "right"
    assert prompt(p) == "v̄4 = ∂f/∂v4"  # the adjoint this step completes
    assert answer(p, "3/3") == "right"
    assert score(p)["right"] == 2 and not p.page.is_disabled("#dg-next")
    rows = p.rows()
    assert rows["v4"]["adjoint"] == "1"
    # walk on to ∂v3/∂v2 = 2·v2 = −1/2, answering everything before it from the closed forms
    while True:
        p.page.click("#dg-next")
        while p.page.is_visible("#dg-quiz") and prompt(p) != "∂v3/∂v2 at this point":
            assert answer(p, repr(expected[prompt(p).split(" ")[0]])) == "right"
        if p.page.is_visible("#dg-quiz"):
            break
    assert not p.page.is_visible("#a_dg-e3-formula")  # the formula 2·v2 is hidden too
    p.page.click("#dg-hint-button")
    assert "the edges that feed v3: v2 → v3" in p.page.text_content("#dg-hint")
    assert answer(p, "abc") == "unreadable"
    assert answer(p, "-0.51") == "wrong"
    before = score(p)
    assert answer(p, "−1/2") == "right"  # a fraction, with the Unicode minus
    after = score(p)
    assert after["right"] == before["right"] + 1 and after["wrong"] == before["wrong"]
    assert after["hints"] == 1
    assert p.page.is_visible("#a_dg-e3-formula")
    assert prompt(p) == "v̄3 = ∂f/∂v3" or prompt(p) == "v̄2 = ∂f/∂v2"
    assert answer(p, "2*(-25) * (1 + 1e-7)") == "right"  # within the relative 1e-6
    p.page.click("#dg-next")
    p.page.click("#dg-reveal")
    assert p.page.get_attribute("#dg-feedback", "data-verdict") == "shown"
    assert score(p)["shown"] == 1
    assert p.errors == [] and p.dialogs == []


def test_whole_quiz_gives_the_gradient_and_fetches_nothing(quiz_page) -> None:
    p = quiz_page
    expected = closed_forms()
    p.page.click("#dg-backward-pass")
    for _ in range(100):
        if p.page.is_visible("#dg-quiz"):
            assert answer(p, repr(expected[prompt(p).split(" ")[0]])) == "right"
            continue
        if p.page.is_disabled("#dg-next"):
            break
        p.page.click("#dg-next")
    rows = p.rows()
    assert float(rows["x1"]["adjoint"]) == 151.0
    assert float(rows["x2"]["adjoint"]) == -50.0
    assert "151" in p.page.text_content("#dg-step-note")
    s = score(p)
    assert s["right"] == s["answered"] == len(expected) and s["wrong"] == 0
    assert p.requests == [p.url]
    assert p.errors == []


def test_typing_does_not_step_and_end_stops_at_the_question(quiz_page) -> None:
    p = quiz_page
    p.page.click("#dg-end")
    step = p.step()
    assert p.page.is_visible("#dg-quiz")  # End stops at the first open question
    p.page.focus("#dg-answer")
    p.page.keyboard.type("1")
    p.page.keyboard.press("ArrowRight")
    p.page.keyboard.press("End")
    assert p.step() == step
    p.page.keyboard.press("Enter")
    assert p.page.get_attribute("#dg-feedback", "data-verdict") == "right"  # ∂f/∂v4 = 1


def test_cli_writes_quiz_pages(tmp_path, capsys) -> None:
    from dagrad.cli import main

    page = tmp_path / "q.html"
    assert main(["rosenbrock", "--html", str(page), "--quiz"]) == 0
    assert f"wrote {page} (quiz)" in capsys.readouterr().out
    assert '"quiz":{"questions":' in page.read_text()
    page2 = tmp_path / "g.html"
    assert main(["graph", "x^2·y", "--at", "x=3,y=2", "--html", str(page2), "--quiz",
                 "--no-symbolic"]) == 0
    data = json.loads(re.search(r'id="dg-data">(.*?)</script>', page2.read_text()).group(1))
    answers = {q["prompt"]: q["answer"] for q in data["quiz"]["questions"]}
    assert answers["x\u0304 = ∂f/∂x"] == 2 * 3 * 2  # ∂(x²y)/∂x = 2xy
    assert answers["y\u0304 = ∂f/∂y"] == 3**2
    assert main(["graph", "x*y", "--at", "x=1,y=2", "--quiz"]) == 2
    assert "--quiz needs --html" in capsys.readouterr().err
    assert main(["rosenbrock", "--quiz"]) == 2
    assert "--quiz needs --html" in capsys.readouterr().err
