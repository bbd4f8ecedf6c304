"""The explainers' import structure: explain/ sits below tour and cli and has no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from test_import_layers import strongly_connected as _circles

SRC = Path(__file__).resolve().parents[1] / "src"
EXPLAIN = SRC / "dagrad" / "explain"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _exists(name: str) -> bool:
    p = SRC.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports: at the top, inside functions and under TYPE_CHECKING."""
    me = _module_name(path)
    package = me if _is_package(path) else me.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:  # ``from . import report`` names a module; else the package
                sub = f"{base}.{a.name}"
                found.add(sub if _exists(sub) else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


FILES = sorted(EXPLAIN.rglob("*.py"))
GRAPH = {_module_name(p): {m for m in _imports(p) if m.startswith("dagrad.explain")}
         for p in FILES}


def test_the_walk_sees_the_explainers():
    assert "dagrad.explain.mlp_jacobians.explainer" in GRAPH
    assert "dagrad.explain.mlp_jacobians.batch" in GRAPH["dagrad.explain.mlp_jacobians.explainer"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(EXPLAIN)))
def test_explain_imports_no_higher_layer(path):
    higher = sorted(m for m in _imports(path) if m.split(".")[:2] in (["dagrad", "cli"],
                                                                      ["dagrad", "tour"]))
    assert not higher, f"{path.relative_to(SRC)} imports {higher}"


def test_tour_imports_nothing_from_cli():
    for path in sorted((SRC / "dagrad" / "tour").rglob("*.py")):
        assert not [m for m in _imports(path) if m.startswith("dagrad.cli")], path


def test_circle_finder_finds_a_two_file_circle():
    assert _circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_explain_has_no_import_circle():
    assert _circles(GRAPH) == []
