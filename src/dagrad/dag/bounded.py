"""Symbolic formulas of a Graph within limits: checked first, built in a bounded child, noted.

Before SymPy starts, the graph's depth and the size of f written out in its inputs are checked
against their limits (:mod:`dagrad.dag.limit`), so a graph too deep for SymPy's recursion or
too large to write out gets a clear :class:`SymbolicLimitError` at once.  The formula is then
built and simplified in a child process with a time and a memory limit
(:mod:`dagrad.dag.isolate`): the unsimplified chain-rule form comes back first, the simplified
one if it is ready in time.  When simplifying is skipped or stopped the unsimplified form is
returned, a :class:`SymbolicLimitWarning` says why, and :func:`note` keeps the reason.
"""

from __future__ import annotations

import math
import pickle
import time
import warnings
from typing import TYPE_CHECKING, Any

from . import isolate, limit
from . import symbolic as sy
from .kinds import CONST
from .limit import SymbolicLimitError, SymbolicLimitWarning

if TYPE_CHECKING:
    from .model import Graph

__all__ = ["forward_formula", "gradient_formula", "note", "check", "written_size", "tree_size",
           "simplify_refusal"]

_NUMBERS = "use the numbers instead: g[name].grad, g.derivation()"


# ----- checks before SymPy starts -------------------------------------------------------------
def written_size(graph: Graph, name: str, cap: int) -> int:
    """How many terms the node ``name`` has written out in the inputs (no sharing), up to cap."""
    size: dict[str, int] = {}
    for n in graph.nodes:  # x·x counts x once: SymPy writes it x²
        once = set(n.inputs)
        size[n.name] = min(cap, 1 + sum(size[i] for i in once) + len(n.inputs) - len(once))
        if n.name == name:
            break
    return size[name]


def check(graph: Graph, name: str, what: str, max_depth: int | None = None) -> None:
    """Refuse (SymbolicLimitError) a formula for ``name`` too deep or too large for SymPy."""
    sy._require_scalar(graph)
    depth_limit = int(limit.DEPTH.value(max_depth, "max_depth"))
    depth = graph.depth_of(name)
    if depth > depth_limit:
        raise SymbolicLimitError(
            f"{what}: the graph is {depth} ops deep, above the limit of {depth_limit} for symbolic "
            f"formulas (SymPy recurses once per level of a formula; Python's recursion limit "
            f"stops it within 100 nested sigmoids). Raise it with max_depth={depth} or "
            f"{limit.DEPTH.env}={depth}, or {_NUMBERS}")
    size_limit = int(limit.SIZE.value())
    size = written_size(graph, name, size_limit + 1)
    if size > size_limit:
        raise SymbolicLimitError(
            f"{what}: {name} written out in the inputs would have more than {size_limit:,} "
            f"terms (its subexpressions are reused; a formula repeats them). Raise the limit "
            f"with {limit.SIZE.env}=<terms>, or {_NUMBERS}")


def tree_size(expr: Any, cap: int) -> int:
    """The number of nodes of ``expr`` written out as a tree (each reuse again), up to cap + 1."""
    count, stack = 0, [expr]
    while stack and count <= cap:
        e = stack.pop()
        count += 1
        stack.extend(e.args)
    return count


def simplify_refusal(expr: Any) -> str | None:
    """Why simplify/factor are not tried on ``expr`` (too many operations, a huge expansion)."""
    sp = sy.sympy_module()
    ops = _bounded_ops(expr, limit.SIMPLIFY_OPS)
    if ops > limit.SIMPLIFY_OPS:
        return (f"the chain-rule form has more than {limit.SIMPLIFY_OPS} operations, and "
                f"simplifying that can take minutes")
    for p in sp.preorder_traversal(expr):
        if p.is_Pow and p.base.is_Add and p.exp.is_Integer and abs(int(p.exp)) > 1:
            k, e = len(p.base.args), abs(int(p.exp))
            terms = math.comb(e + k - 1, k - 1)
            if terms > limit.EXPANSION_TERMS:
                return (f"factoring would expand a power of a sum of {k} terms to the power "
                        f"{e} into {terms:,} terms (the limit is {limit.EXPANSION_TERMS:,})")
    return None


def _bounded_ops(expr: Any, cap: int) -> int:
    """SymPy's count_ops, but the walk stops once it passes ``cap`` (trees can be huge)."""
    sp = sy.sympy_module()
    count, stack = 0, [expr]
    while stack and count <= cap:
        e = stack.pop()
        if e.is_Atom:
            continue
        count += max(len(e.args) - 1, 1) if (e.is_Add or e.is_Mul) else 1
        stack.extend(e.args)
    return count if count > cap else int(sp.count_ops(expr))


# ----- the work, in a child process ----------------------------------------------------------
def _loads(data: bytes) -> Any:
    """Unpickle SymPy objects as they were built (no second evaluation of each node)."""
    sp = sy.sympy_module()
    with sp.evaluate(False):
        return pickle.loads(data)


def _run(work: Any, deadline: Any) -> isolate.Outcome:
    sy.sympy_module()  # imported here once, not in every child
    return isolate.run(work, deadline, int(limit.MEMORY.value(what=limit.MEMORY.env)),
                       loads=_loads)


def _seconds() -> float:
    return float(limit.SECONDS.value(what=limit.SECONDS.env))


def _build(graph: Graph, what: str, need: str | None = None) -> dict:
    """Forward formulas of every node and, with ``need``, the raw ∂f/∂need (and ∂f/∂leaves).

    Built in one bounded child per request, each formula within the time limit (the one asked
    for first); what came back in time is kept on the graph (the forward formulas also as
    :func:`symbolic.forward_exprs`'s cache, for later children).
    """
    state = _cache(graph, "_symbolic_state")
    raws = state.setdefault("raw", {})
    todo = [] if need is None or need in raws else \
        [need] + [x.name for x in graph.leaves if x.name not in raws and x.name != need]
    if "forward" in state and not todo:
        return state

    cap = int(limit.SIZE.value())

    def work(emit: Any) -> None:
        if "forward" not in state:
            emit("forward", sy.forward_exprs(graph))
        for name in todo:
            raw = sy.raw_gradient(graph, name)
            emit("raw", name, raw if tree_size(raw, cap) <= cap else None)

    seconds = _seconds()
    last = [time.monotonic(), 0]

    def deadline(frames: list[tuple]) -> float:  # each formula gets its own time limit
        if len(frames) > last[1]:
            last[:] = [time.monotonic(), len(frames)]
        return last[0] + seconds

    out = _run(work, deadline)
    for frame in out.frames:
        if frame[0] == "forward":
            state["forward"] = graph.__dict__["_forward"] = frame[1]
        else:
            raws[frame[1]] = frame[2]
    if "forward" not in state or (need is not None and need not in raws):
        _raise_unbuilt(out, what, graph, graph.output.name, seconds)
    if need is not None and raws[need] is None:
        raise SymbolicLimitError(
            f"{what}: the chain-rule formula written out would have more than {cap:,} terms "
            f"(the product rule repeats reused subexpressions). Raise the limit with "
            f"{limit.SIZE.env}=<terms>, or {_NUMBERS}")
    return state


def _stopped_note(out: isolate.Outcome, seconds: float, by_budget: bool) -> str:
    if out.stopped == "time":
        if by_budget:
            return _budget_note(seconds)
        return (f"not simplified: simplifying exceeded the time limit of {seconds:g} s "
                f"({limit.SECONDS.env})")
    if out.stopped == "memory":
        return (f"not simplified: simplifying exceeded the memory limit of "
                f"{limit.MEMORY.value() / 2**20:,.0f} MiB ({limit.MEMORY.env})")
    if out.stopped == "recursion":
        return "not simplified: SymPy ran out of Python's recursion depth while simplifying"
    return f"not simplified: SymPy failed while simplifying ({out.error or out.stopped})"


def _budget_note(seconds: float) -> str:
    return (f"not simplified: this graph's {limit.GRAPH_BUDGET * seconds:g} s for simplifying "
            f"({limit.GRAPH_BUDGET} × {limit.SECONDS.env}) are used up")


def _raise_unbuilt(out: isolate.Outcome, what: str, graph: Graph, name: str,
                   seconds: float) -> None:
    """No formula came back: re-raise the work's error, or say which limit stopped it."""
    if out.stopped == "error" and out.error is not None:
        raise out.error
    if out.stopped == "time":
        raise SymbolicLimitError(
            f"{what}: building the formula exceeded the time limit of {seconds:g} s "
            f"(SymPy's work grows quickly with depth and size). Raise it with "
            f"{limit.SECONDS.env}=<seconds>, or {_NUMBERS}")
    if out.stopped == "memory":
        raise SymbolicLimitError(
            f"{what}: building the formula exceeded the memory limit of "
            f"{limit.MEMORY.value() / 2**20:,.0f} MiB. Raise it with {limit.MEMORY.env}=<bytes>, "
            f"or {_NUMBERS}")
    if out.stopped == "recursion":
        depth = graph.depth_of(name)
        raise SymbolicLimitError(
            f"{what}: SymPy ran out of Python's recursion depth on a graph {depth} ops deep. "
            f"Lower {limit.DEPTH.env} (or max_depth=) below {depth} to be refused at once, "
            f"raise sys.setrecursionlimit, or {_NUMBERS}")
    raise SymbolicLimitError(f"{what}: the symbolic work stopped ({out.stopped}); {_NUMBERS}")


def _simplify_work(raw: Any, emit: Any) -> None:
    reason = simplify_refusal(raw)
    if reason:
        emit("skipped", f"not simplified: {reason}")
    else:
        emit("final", sy.simplest(raw))


def _simplified(graph: Graph, raw: Any) -> tuple[Any, str | None]:
    """The simplest form of ``raw`` if that fits the limits; else raw and the reason.

    Every SymPy call on the formula, even counting its operations, runs in the bounded child:
    asking whether a huge number is negative can take seconds.
    """
    seconds = _seconds()
    spent = graph.__dict__.get("_simplify_seconds", 0.0)
    left = limit.GRAPH_BUDGET * seconds - spent
    if left <= 0:
        return raw, _budget_note(seconds)
    start = time.monotonic()
    out = _run(lambda emit: _simplify_work(raw, emit), lambda frames: start + min(seconds, left))
    graph.__dict__["_simplify_seconds"] = spent + out.seconds
    if out.frames:
        kind, value = out.frames[0]
        return (value, None) if kind == "final" else (raw, value)
    return raw, _stopped_note(out, seconds, by_budget=left < seconds)


# ----- entry points ---------------------------------------------------------------------------
def _cache(graph: Graph, key: str) -> dict:
    return graph.__dict__.setdefault(key, {})


def note(graph: Graph, wrt: str) -> str | None:
    """Why the last ∂f/∂wrt from :func:`gradient_formula` is not simplified (None: it is)."""
    return _cache(graph, "_symbolic_notes").get(graph[wrt].name)


def gradient_formula(graph: Graph, wrt: str, simplify: bool = True,
                     max_depth: int | None = None) -> Any:
    """∂f/∂wrt as SymPy: simplified when that fits the limits, else the chain rule as built."""
    node = graph[wrt]
    if node.kind == CONST:
        raise ValueError(f"{wrt!r} is a constant; it has no gradient")
    what = f"∂{graph.output.name}/∂{node.name}"
    check(graph, graph.output.name, what, max_depth)
    raw = _build(graph, what, node.name)["raw"][node.name]
    if not simplify:
        return raw
    done = _cache(graph, "_simplified")
    if node.name not in done:
        done[node.name] = _simplified(graph, raw)
    expr, why = done[node.name]
    notes = _cache(graph, "_symbolic_notes")
    if why:
        notes[node.name] = why
        warnings.warn(f"{what} {why}", SymbolicLimitWarning, stacklevel=3)
    else:
        notes.pop(node.name, None)
    return expr


def forward_formula(graph: Graph, name: str | None = None, max_depth: int | None = None) -> Any:
    """The node ``name`` (default: the output) as SymPy in the inputs, within the limits."""
    node = graph[name or graph.output.name]
    what = f"the formula of {node.name}"
    check(graph, node.name, what, max_depth)
    return _build(graph, what)["forward"][node.name]
