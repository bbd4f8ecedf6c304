"""Where a compiled call's time goes: the generated replay with a clock read between its lines.

:func:`line_times` rebuilds the replay of the latest signature a :class:`CompiledFunction`
traced, with ``perf_counter()`` read before the first line and after every line (not between
an ``if`` and its ``else``), runs it ``repeat`` times on the given arguments and returns, per
line, the median seconds and what kind of work the line does (:func:`kind_of`): each GEMM by
its role and layer, bias additions, elementwise forward and backward kernels, reductions, the
optimizer update, and the Python bookkeeping around them.  The instrumented replay is the
plan's own code — same kernels, buffers and effects — so it also updates parameters as the
real call does.  Reading the clock costs some tens of nanoseconds per line, which land in the
line's figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..tensor import Tensor
from .function import CompiledFunction, _flatten
from .plan import Item, Plan
from .replay import _Gen, _source, _state_checks

__all__ = ["Line", "line_times", "kind_of"]


@dataclass
class Line:
    """One generated line: its text, the plan item it belongs to (-1: the head or the
    result), its kind of work and the median seconds it took."""

    text: str
    item: int
    kind: str
    seconds: float = 0.0


def _layers(plan: Plan) -> dict[int, int]:
    """id of every forward GEMM step (linear / matmul) → its layer number, 1-based, in order."""
    out: dict[int, int] = {}
    for it in plan.items:
        s = it.step
        if s.kind == "fwd" and s.op is not None and s.op.name in ("linear", "matmul"):
            out[id(s)] = len(out) + 1
    return out


def _shape(plan: Plan, vid: int) -> str:
    return "×".join(map(str, plan.values[vid].shape)) or "scalar"


def kind_of(plan: Plan, it: Item | None, text: str, layers: dict[int, int]) -> str:
    """The kind of work one generated line does (a row of the profile's table)."""
    if it is None:
        return "Python: arguments, parameter checks, result"
    s = it.step
    if s.kind == "effect":
        kind = s.fn.kind
        if kind == "optim":
            return f"optimizer update ({type(s.fn.obj).__name__}, in place)"
        return "Python: .grad bookkeeping" if kind in ("grad", "setgrad") else \
            "recorded effect"
    op = s.op.name if s.op is not None else s.kind
    if "_np.matmul(" in text:
        if s.kind == "fwd":
            layer = layers.get(id(s))
            shapes = f"{_shape(plan, s.ins[0])} · {_shape(plan, s.ins[1])}ᵀ"
            return f"GEMM forward, layer {layer} ({shapes})"
        layer = layers.get(id(s.fwd)) if s.fwd is not None else None
        role = "input gradient" if s.index == 0 else "weight gradient"
        return f"GEMM {role}, layer {layer} (→ {_shape(plan, s.out)})"
    if "_np.empty(" in text:
        return "allocation (an array the call returns)"
    if s.kind == "fwd" and op in ("linear", "matmul"):
        return "bias add (forward)"
    if s.kind == "vjp" and op == "linear" and (s.index == 2 or s.sum_to is not None):
        return "bias gradient (batch sum)"
    if op == "cross_entropy":
        return f"softmax + cross-entropy {'forward' if s.kind == 'fwd' else 'backward'}"
    if s.kind == "add":
        return "gradient accumulation"
    if s.kind == "fwd":
        return f"elementwise forward ({op})"
    if s.kind == "vjp":
        return f"elementwise backward ({op}′)"
    return f"other ({s.kind})"


def _instrumented(plan: Plan, stamps: list[float]) -> tuple[Callable, list[Line]]:
    """The replay with a clock read after every line, and the lines it times (returned values
    made by the call, as in the generated replay)."""
    g = _Gen(plan, fresh=True)
    checks = _state_checks(g, plan)
    items: list[tuple[str, Item | None, int]] = []
    for k, it in enumerate(plan.items):
        start = len(g.lines)
        g.item(it)
        items += [(line, it, k) for line in g.lines[start:]]
    ret = g.output(plan.outputs)
    ordered = [(line, None, -1) for line in checks + g.head] + items + \
        [(f"_r = {ret}", None, -1)]
    layers = _layers(plan)
    g.ns["_pc"] = time.perf_counter
    g.ns["_ts"] = stamps
    lines: list[str] = ["_ts.append(_pc())"]
    timed: list[Line] = []
    for j, (text, it, k) in enumerate(ordered):
        lines.append(text)
        nxt = ordered[j + 1][0] if j + 1 < len(ordered) else ""
        if nxt.startswith(("else", "elif")):        # no clock between an if and its else
            continue
        lines.append("_ts.append(_pc())")
        timed.append(Line(text.split("  #")[0].strip(), k, kind_of(plan, it, text, layers)))
    g.head, g.lines = [], lines
    src = _source(g, plan, [], "_r")
    glb: dict[str, Any] = {}
    exec(compile(src, "<dg.compile profile>", "exec"), glb)   # our own generated code
    return glb["_make"](*g.ns.values()), timed


def line_times(cf: CompiledFunction, *args: Any, repeat: int = 50,
               calls: list[tuple[float, float]] | None = None, **kwargs: Any) -> list[Line]:
    """Median seconds of every line of cf's replay on these arguments (traced first if new).

    Runs the instrumented replay ``repeat`` times (after one untimed run); each run has cf's
    effects, as a call does.  ``calls``, if given, receives per timed run (its seconds from
    first to last clock read, the seconds of a plain call of cf made right after it): paired
    figures for what the call spends outside the lines.
    """
    if not isinstance(cf, CompiledFunction):
        raise TypeError(f"line_times: expected a dg.compile function, got {type(cf).__name__}")
    if repeat < 1:
        raise ValueError(f"line_times: repeat must be at least 1, got {repeat}")
    leaves, key = _flatten(args, kwargs)
    if key not in cf._plans:
        cf(*args, **kwargs)
    plan = cf._plans[key]
    stamps: list[float] = []
    replay, lines = _instrumented(plan, stamps)
    arrays = tuple(x.data if isinstance(x, Tensor) else x for x in leaves)
    runs = []
    clock = time.perf_counter
    for r in range(repeat + 1):
        stamps.clear()
        replay(arrays, leaves)
        if r:
            runs.append(np.diff(stamps))
            if calls is not None:
                t0 = clock()
                cf(*args, **kwargs)
                calls.append((stamps[-1] - stamps[0], clock() - t0))
    med = np.median(np.asarray(runs), axis=0)
    for line, t in zip(lines, med, strict=True):
        line.seconds = float(t)
    return lines
