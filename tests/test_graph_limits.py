"""Bounded drawing: graphs above the node limit are refused at once, with a clear message."""

from __future__ import annotations

import pickle
import shutil
import time

import pytest

import dagrad as dg
from dagrad.dag.limit import (
    DEFAULT_MAX_NODES,
    ENV_VAR,
    GraphTooLargeError,
    max_draw_nodes,
    too_large_svg,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed")


def chain(n: int):
    """The graph of tanh applied n times to one leaf: n + 1 nodes."""
    x = dg.tensor(0.5, requires_grad=True, dtype="float64", name="x")
    y = x
    for _ in range(n):
        y = dg.tanh(y)
    return dg.graph(y)


@pytest.fixture(scope="module")
def huge():
    return chain(5000)


@pytest.fixture(autouse=True)
def _no_env_limit(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def _quick(fn, *args, **kwargs):
    start = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        assert time.perf_counter() - start < 2.0


def test_to_dot_refuses_quickly_with_a_clear_message(huge):
    assert len(huge) == 5001 and DEFAULT_MAX_NODES == 2000
    with pytest.raises(GraphTooLargeError) as info:
        _quick(huge.to_dot)
    msg = str(info.value)
    assert "5,001 nodes" in msg and "limit is 2,000" in msg
    assert "max_nodes=5001" in msg and f"{ENV_VAR}=5001" in msg
    assert isinstance(info.value, ValueError)
    assert (info.value.count, info.value.limit) == (5001, 2000)


def test_render_and_to_html_refuse_and_write_nothing(huge, tmp_path):
    for name in ("g.svg", "g.png", "g.dot"):
        with pytest.raises(GraphTooLargeError):
            _quick(huge.render, tmp_path / name)
    with pytest.raises(GraphTooLargeError):
        _quick(huge.to_html, tmp_path / "g.html")
    assert list(tmp_path.iterdir()) == []


def test_repr_svg_returns_a_note_instead(huge):
    svg = _quick(huge._repr_svg_)
    assert svg.startswith("<svg") and len(svg) < 2000
    assert "5,001 nodes" in svg and "limit 2,000" in svg and ENV_VAR in svg


def test_limit_from_argument_and_environment(monkeypatch):
    g = chain(30)
    with pytest.raises(GraphTooLargeError, match="31 nodes"):
        g.to_dot(max_nodes=30)
    assert g.to_dot(max_nodes=31).startswith("digraph")
    monkeypatch.setenv(ENV_VAR, "10")
    assert max_draw_nodes() == 10 and max_draw_nodes(50) == 50
    with pytest.raises(GraphTooLargeError, match="limit is 10"):
        g.to_dot()
    assert g.to_dot(max_nodes=50).startswith("digraph")  # the argument wins
    monkeypatch.setenv(ENV_VAR, "1_000")
    assert max_draw_nodes() == 1000
    for bad in ("lots", "0", "-3", "inf"):
        monkeypatch.setenv(ENV_VAR, bad)
        with pytest.raises(ValueError, match=ENV_VAR):
            max_draw_nodes()
    with pytest.raises(ValueError, match="max_nodes must be at least 1"):
        max_draw_nodes(0)


def test_folded_constants_do_not_count():
    x = dg.tensor(2.0, requires_grad=True, dtype="float64", name="x")
    g = dg.graph((x * 3 + 1) * 5)  # x, 3 constants, 3 ops
    with pytest.raises(GraphTooLargeError):
        g.to_dot(max_nodes=5)
    assert g.to_dot(max_nodes=4, constants="fold").startswith("digraph")


def test_error_pickles_and_note_escapes():
    e = pickle.loads(pickle.dumps(GraphTooLargeError(5001, 2000)))
    assert (e.count, e.limit) == (5001, 2000) and "5,001" in str(e)
    assert "<text" in too_large_svg(e)


@needs_dot
def test_a_graph_at_the_limit_still_draws(tmp_path):
    g = chain(5)
    out = g.render(tmp_path / "g.svg", max_nodes=6)
    assert (tmp_path / "g.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert out == str(tmp_path / "g.svg")
    assert g._repr_svg_().lstrip().startswith("<?xml")
