"""The package's import graph, from every import statement (those inside functions included):
no circle anywhere, Tensor on the ground floor, no floor importing a higher one.

``if TYPE_CHECKING:`` blocks are left out: they are never executed, so they cannot form a
circle at run time.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dagrad"


def _modules() -> dict[str, tuple[Path, list[str]]]:
    mods = {}
    for p in SRC.rglob("*.py"):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            pkg = parts
        else:
            pkg = parts[:-1]
        mods[".".join(parts)] = (p, pkg)
    return mods


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.If):
            t = n.test
            if getattr(t, "id", None) == "TYPE_CHECKING" or getattr(t, "attr", None) == \
                    "TYPE_CHECKING":
                skip.update(id(x) for b in n.body for x in ast.walk(b))
    return skip


@functools.lru_cache(maxsize=1)
def import_graph() -> dict[str, set[str]]:
    """module -> the dagrad modules it imports (a package's submodule, not the package, when
    ``from package import submodule``)."""
    mods = _modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, (path, pkg) in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg[:len(pkg) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
                found = subs if len(subs) == len(node.names) else [target, *subs]
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            else:
                continue
            edges[m].update(f for f in found if f in mods and f != m)
    return edges


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative); edges to
    modules outside ``edges`` are ignored."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on, stack, out = set(), [], []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(w for w in edges[root] if w in edges)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(x for x in edges[w] if x in edges))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_circle_in_the_package():
    assert strongly_connected(import_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_tensor_is_the_ground_floor():
    edges = import_graph()
    assert edges["dagrad.tensor"] <= {"dagrad.versions"}
    assert edges["dagrad.versions"] == set()


@pytest.mark.parametrize("floor, above", [
    ("dagrad.ops", ("dagrad.autodiff", "dagrad.inplace", "dagrad.functional", "dagrad.dag",
                    "dagrad.compiler", "dagrad.explain", "dagrad.nn", "dagrad.cli",
                    "dagrad.tour")),
    ("dagrad.autodiff", ("dagrad.functional", "dagrad.dag", "dagrad.compiler", "dagrad.explain",
                         "dagrad.cli", "dagrad.tour")),
    ("dagrad.dag", ("dagrad.explain", "dagrad.cli", "dagrad.tour", "dagrad.compiler")),
    ("dagrad.explain", ("dagrad.cli", "dagrad.tour")),
    ("dagrad.compiler", ("dagrad.explain", "dagrad.cli", "dagrad.tour")),
    ("dagrad.nn", ("dagrad.explain", "dagrad.cli", "dagrad.tour", "dagrad.training")),
    ("dagrad.training", ("dagrad.explain", "dagrad.cli", "dagrad.tour")),
])
def test_no_floor_imports_a_higher_one(floor, above):
    edges = import_graph()
    bad = sorted((m, t) for m, ts in edges.items()
                 if m == floor or m.startswith(floor + ".")
                 for t in ts if any(t == a or t.startswith(a + ".") for a in above))
    assert bad == []
