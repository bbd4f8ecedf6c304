"""Turn a recorded computation into a :class:`Graph`: collect the nodes, name them, find adjoints.

Names: a tensor's own ``name`` wins; unnamed differentiable inputs become x1, x2, …; unnamed
constants c1, c2, …; unnamed op results v1, v2, … in evaluation order; an unnamed output is f.
Names are unique (a repeated user name gets a suffix ``_2``, ``_3``, …).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import autodiff
from ..tensor import STATE, Tensor, enable_grad
from . import local
from .limit import GRAPH, GraphTooLargeError
from .model import CONST, LEAF, OP, Graph, Node

__all__ = ["trace", "graph"]


def trace(f: Callable[..., Any], *inputs: Any, max_nodes: int | None = None) -> Graph:
    """The DAG of f(*inputs), run on fresh differentiable leaves made from ``inputs``.

    Graphs above ``max_nodes`` (default 100,000, ``DAGRAD_MAX_GRAPH_NODES``) are refused.
    """
    names = _parameter_names(f, len(inputs))
    leaves = [_as_leaf(x, name) for x, name in zip(inputs, names, strict=True)]
    with enable_grad():
        out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"trace: the function must return a dagrad Tensor, got "
                        f"{type(out).__name__}")
    return _build(out, leaves, None, max_nodes)


def graph(out: Tensor, grad_output: Any = None, max_nodes: int | None = None) -> Graph:
    """The DAG that produced ``out``; adjoints ∂out/∂node for a scalar out (or grad_output).

    Graphs above ``max_nodes`` (default 100,000, ``DAGRAD_MAX_GRAPH_NODES``) are refused as
    soon as the walk from ``out`` passes the limit, before anything is built.
    """
    if not isinstance(out, Tensor):
        raise TypeError(f"graph: expected a dagrad Tensor, got {type(out).__name__}")
    return _build(out, [], grad_output, max_nodes)


def _parameter_names(f: Callable[..., Any], n: int) -> list[str]:
    """The names of f's first n positional parameters (x1, x2, … where there are none)."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [positional[i] if i < len(positional) else f"x{i + 1}" for i in range(n)]


def _as_leaf(x: Any, name: str) -> Tensor:
    """A fresh differentiable leaf with x's values; a Tensor keeps its name and dtype."""
    if isinstance(x, Tensor):
        arr = x.data if x.dtype.kind == "f" else x.data.astype(STATE.default_dtype)
        return Tensor(arr, requires_grad=True, name=x.name or name)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"trace: input {name!r} is not numeric ({type(x).__name__})")
    if arr.dtype.kind != "f" or not isinstance(x, np.ndarray | np.generic):
        arr = arr.astype(np.float64)  # numbers and lists: float64, for exact-looking numbers
    return Tensor(arr, requires_grad=True, name=name)


def _collect(out: Tensor, extra: Sequence[Tensor], limit: int) -> list[Tensor]:
    """Every tensor that went into ``out`` (plus ``extra`` leaves), in evaluation order.

    The walk stops as soon as it has seen ``limit`` + 1 tensors (GraphTooLargeError).
    """
    seen: dict[int, Tensor] = {}
    stack = [out, *extra]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen[id(t)] = t
        if len(seen) > limit:
            raise GraphTooLargeError(len(seen), limit, "build")
        node = t._node
        if node is not None:
            stack.extend(x for x in node[1] if id(x) not in seen)
    return sorted(seen.values(), key=lambda t: t._seq)


def _kind(t: Tensor) -> str:
    if t._node is not None:
        return OP
    return LEAF if t.requires_grad else CONST


def _names(tensors: list[Tensor], out: Tensor) -> dict[int, str]:
    """A unique readable name for every tensor (see the module docstring)."""
    taken: set[str] = set()
    names: dict[int, str] = {}
    for t in tensors:  # the user's names first, so generated ones avoid them
        if t.name:
            name, k = str(t.name), 2
            while name in taken:
                name, k = f"{t.name}_{k}", k + 1
            names[id(t)] = name
            taken.add(name)
    counters = {LEAF: 0, CONST: 0, OP: 0}
    prefix = {LEAF: "x", CONST: "c", OP: "v"}
    for t in tensors:
        if id(t) in names:
            continue
        kind = _kind(t)
        if t is out and "f" not in taken:
            name = "f"
        else:
            while True:
                counters[kind] += 1
                name = f"{prefix[kind]}{counters[kind]}"
                if name not in taken:
                    break
        names[id(t)] = name
        taken.add(name)
    return names


def _adjoints(out: Tensor, tensors: list[Tensor], grad_output: Any) -> dict[int, np.ndarray]:
    """d out/d t for every differentiable t (by one reverse pass; leaves' .grad untouched)."""
    targets = [t for t in tensors if t.requires_grad]
    if not out.requires_grad or (grad_output is None and out.data.size != 1):
        return {}
    grads = autodiff.grad(out, targets, grad_outputs=grad_output, retain_graph=True,
                          allow_freed=True)
    return {id(t): g.data for t, g in zip(targets, grads, strict=True)}


def _build(out: Tensor, extra: Sequence[Tensor], grad_output: Any,
           max_nodes: int | None) -> Graph:
    if not out.requires_grad:
        raise ValueError("graph: nothing was recorded — the output does not depend on any "
                         "tensor with requires_grad=True (or it was computed under no_grad())")
    tensors = _collect(out, extra, int(GRAPH.value(max_nodes)))
    names = _names(tensors, out)
    adjoints = _adjoints(out, tensors, grad_output)
    nodes: list[Node] = []
    specs: list[tuple[str, str, int, str, str]] = []
    for index, t in enumerate(tensors):
        name = names[id(t)]
        op = inputs = None
        attrs: dict[str, Any] = {}
        if t._node is not None:
            op, inputs, attrs = t._node
            for slot, x in enumerate(inputs):
                arg = op.args[slot] if slot < len(op.args) else f"{op.args[0]}{slot}"
                kind = local.derivative_kind(op, inputs, t, slot)
                specs.append((names[id(x)], name, slot, arg, kind))
        nodes.append(Node(
            name=name, kind=_kind(t), value=t.data, grad=adjoints.get(id(t)), index=index,
            op=None if op is None else op.name, symbol=None if op is None else op.symbol,
            inputs=() if inputs is None else tuple(names[id(x)] for x in inputs),
            attrs=dict(attrs), tensor=t))
    return Graph(nodes, specs, names[id(out)])
