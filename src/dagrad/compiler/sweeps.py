"""Autodiff's sweeps while tracing: reverse and forward mode, recording every rule they apply.

Reverse and forward mode are ``autodiff.reverse_sweep`` and ``autodiff.forward_sweep`` driving
recording interpreters: the same rules on the same arrays in the same accumulation order as the
eager sweeps, each rule application, accumulation and leaf-gradient write recorded as a step,
so the replay can run them again — or a fused kernel in their place.  A ``create_graph=True``
sweep runs as usual instead: its rules apply ops on Tensors, which the op hook records one by
one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import autodiff
from ..tensor import Tensor
from .ir import CONST, STEP, Step
from .trace import CompileError, Recorder


def _array(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.asarray(x)


class TracedSweeps:
    """``autodiff.TRACE`` hook: hook(roots, cotangents, create_graph, targets) for reverse
    mode, hook.forward(outputs, inputs, tangents, create_graph) for forward mode."""

    def __init__(self, rec: Recorder):
        self.rec = rec
        self.inside = 0

    def __call__(self, roots: Sequence[Tensor], cotangents: Sequence[Any], create_graph: bool,
                 targets: Sequence[Tensor] | None) -> dict[int, Any] | None:
        rec = self.rec
        if self.inside or threading.get_ident() != rec.thread:
            return None
        if create_graph:
            return self._with_graph(roots, cotangents, targets)
        return self._record(roots, cotangents, targets)

    def forward(self, outputs: Sequence[Tensor], inputs: Sequence[Tensor],
                tangents: Sequence[Any], create_graph: bool) -> list[Any] | None:
        if self.inside or threading.get_ident() != self.rec.thread:
            return None
        if create_graph:
            return self._with_graph(outputs, inputs, tangents, forward=True)
        return self._record_forward(outputs, inputs, tangents)

    def _with_graph(self, *args: Any, forward: bool = False) -> Any:
        rec = self.rec
        rec.cg_depth += 1
        prev_seq, rec.cg_seq = rec.cg_seq, Tensor._from_op(np.empty(0), None)._seq
        self.inside += 1
        try:
            if forward:
                return autodiff.forward_tangents(*args, create_graph=True)
            return autodiff.backprop(*args[:2], create_graph=True, targets=args[2])
        finally:
            self.inside -= 1
            rec.cg_depth -= 1
            rec.cg_seq = prev_seq

    # ----- values of cotangents ----------------------------------------------------------
    def _root(self, g: Any, root: Tensor) -> tuple[np.ndarray, int]:
        rec = self.rec
        if isinstance(g, Tensor):
            return g.data, rec.vid_of(g)
        arr = _array(g)
        v = rec.by_array.get(id(arr))
        if v is None:
            v = self._match(arr)
        if v is None:
            const = arr[()] if arr.ndim == 0 else np.array(arr, copy=True)
            v = rec._new(arr, CONST, const=const, label="ones" if np.all(arr == 1) else "seed")
        rec.bind_array(arr, v)
        return arr, v

    def _match(self, arr: np.ndarray) -> int | None:
        """A traced value equal to a given cotangent (backward(grad=t) copies t)."""
        if np.all(arr == 1):
            return None
        for val in reversed(self.rec.values):
            if val.kind != CONST and val.shape == arr.shape and val.dtype == arr.dtype and \
                    np.array_equal(self.rec.arrays[val.vid], arr):
                return val.vid
        return None

    def _node(self, node: Tensor) -> int:
        v = self.rec.by_tensor.get(id(node))
        if v is None:
            raise CompileError("dg.compile: backward reached a tensor computed before the "
                               "compiled call; compute the whole graph inside fn")
        return v

    def _step(self, step: Step, arr: Any) -> tuple[np.ndarray, int]:
        rec = self.rec
        a = arr if type(arr) is np.ndarray else _array(arr)
        out = step.out = rec._new_step(a, step.op.name if step.op is not None else step.kind)
        values = rec.values
        for i in step.ins:
            if values[i].kind != CONST:
                break
        else:
            step.folded = a[()] if a.ndim == 0 else np.array(a, copy=True)
        step.snap = a[()] if not a.ndim else rec.snap(a)
        rec.steps.append(step)
        rec.by_array[id(a)] = out                  # bind_array(a, out)
        rec.keep.append(a)
        return a, out

    def _add(self, prev: tuple[np.ndarray, int], c: tuple[np.ndarray, int]
             ) -> tuple[np.ndarray, int]:
        return self._step(Step("add", [prev[1], c[1]]), prev[0] + c[0])

    # ----- the reverse sweep: autodiff.reverse_sweep, with this recorder as its interpreter --
    def _record(self, roots, cotangents, targets) -> dict[int, Any]:
        wanted = None if targets is None else {id(t): t for t in targets}
        return autodiff.reverse_sweep(roots, cotangents, _Recording(self, wanted), targets)

    def _record_forward(self, outputs, inputs, tangents) -> list[Any]:
        """autodiff.forward_sweep with a recording interpreter (tangents may carry batch axes)."""
        return autodiff.forward_sweep(outputs, inputs, tangents, _RecordingForward(self))

    def _found(self, g: np.ndarray, gv: int, target: Tensor) -> np.ndarray:
        """A gradient autodiff.grad returns: an array it will not copy (so it stays traced)."""
        if g.dtype != target.dtype:
            g, gv = self._step(Step("cast", [gv], attrs={"dtype": target.dtype}),
                               g.astype(target.dtype))
        self.rec.bind_array(g, gv)
        return g


class _Recording:
    """autodiff.ReverseInterpreter whose cotangents are (array, traced value) pairs: every rule
    application, accumulation and leaf-gradient write is computed now and recorded as a step."""

    def __init__(self, sweeps: TracedSweeps, wanted: dict[int, Tensor] | None):
        self.sweeps = sweeps
        self.rec = sweeps.rec
        self.wanted = wanted
        self.given: set[int] = set()

    def seed(self, root: Tensor, g: Any) -> tuple[np.ndarray, int]:
        return self.sweeps._root(g, root)

    def add(self, prev: tuple[np.ndarray, int], c: tuple[np.ndarray, int]
            ) -> tuple[np.ndarray, int]:
        return self.sweeps._add(prev, c)

    def write(self, t: Tensor, g: tuple[np.ndarray, int]) -> None:
        self.rec.grad_effect(t, g[0], g[1], self.given)

    def found(self, target: Tensor, g: tuple[np.ndarray, int]) -> np.ndarray:
        return self.sweeps._found(g[0], g[1], self.wanted[id(target)])

    def apply(self, node: Tensor, i: int, x: Tensor, g: tuple[np.ndarray, int]
              ) -> tuple[np.ndarray, int]:
        rec = self.rec
        op, inputs, attrs = node._node
        nv = rec.by_tensor.get(id(node))
        if nv is None:
            nv = self.sweeps._node(node)              # (raises: a tensor from before the call)
        c, wrap, reduce = autodiff.apply_vjp(node, i, g[0])
        if c.ndim:
            operands = (g[0], *[y.data for y in inputs], node.data)
            alias = tuple(k for k, a in enumerate(operands)
                          if np.ndim(a) and np.may_share_memory(c, a))
        else:
            alias = ()
        fwd = rec.fwd_of.get(nv)
        by_tensor = rec.by_tensor
        vids = [by_tensor.get(id(y)) for y in inputs]
        if None in vids:
            vids = [rec.vid_of(y) for y in inputs]
        ins = [g[1], *vids, nv]
        if fwd is not None and fwd.op.residuals:
            ins += self._saved(node, fwd)
        step = Step("vjp", ins, None, op, attrs, i, fwd, reduce, wrap,   # (positional: hot)
                    rec._dyn(attrs) if attrs else (), alias)
        cc = self.sweeps._step(step, c)
        if step.dyn:
            step.folded = step.snap = None
        return cc


    def _saved(self, node: Tensor, fwd: Step | None) -> list[int]:
        """The values node's forward saved for its vjp (``Op.residuals``), as values that
        forward step makes: the vjp step reads them like any operand, and the planner gives
        them storage like any value."""
        kept = getattr(node, "_residuals", None)
        if not kept or fwd is None:
            return []
        if not fwd.saved:
            fwd.saved = [self.rec._new(kept[name], STEP, label=f"{fwd.op.name} {name}")
                         for name in fwd.op.residuals]
        return fwd.saved


class _RecordingForward:
    """autodiff.ForwardInterpreter whose tangents are (array, traced value) pairs: every jvp
    rule application, reshape, accumulation and broadcast is computed now and recorded."""

    def __init__(self, sweeps: TracedSweeps):
        self.sweeps = sweeps
        self.rec = sweeps.rec

    def seed(self, x: Tensor, t: Any) -> tuple[np.ndarray, int]:
        arr = np.asarray(t.data if isinstance(t, Tensor) else t, dtype=x.dtype)
        return self.sweeps._root(arr, x)

    def shape(self, t: tuple[np.ndarray, int]) -> tuple[int, ...]:
        return tuple(t[0].shape)

    def reshape(self, t: tuple[np.ndarray, int], shape: tuple[int, ...]
                ) -> tuple[np.ndarray, int]:
        return self.sweeps._step(Step("reshape", [t[1]], attrs={"shape": shape}, alias=(0,)),
                                 t[0].reshape(shape))

    def apply(self, node: Tensor, i: int, t: tuple[np.ndarray, int]) -> tuple[np.ndarray, int]:
        rec = self.rec
        op, ins, attrs = node._node
        nv = self.sweeps._node(node)
        vals = [x.data for x in ins]
        c = op.jvp_rule(i)(t[0], *vals, node.data, **attrs)
        wrap = not isinstance(c, (np.ndarray, Tensor))
        c = _array(c)
        alias = tuple(k for k, a in enumerate((t[0], *vals, node.data))
                      if c.ndim and np.ndim(a) and np.may_share_memory(c, a))
        step = Step("jvp", [t[1], *[rec.vid_of(x) for x in ins], nv], op=op, attrs=attrs,
                    index=i, wrap=wrap, alias=alias, dyn=rec._dyn(attrs))
        cc = self.sweeps._step(step, c)
        if step.dyn:
            step.folded = step.snap = None
        return cc

    def add(self, a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]
            ) -> tuple[np.ndarray, int]:
        return self.sweeps._add(a, b)

    def broadcast(self, node: Tensor, t: tuple[np.ndarray, int], shape: tuple[int, ...]
                  ) -> tuple[np.ndarray, int]:
        return self.sweeps._step(Step("broadcast", [t[1]], attrs={"shape": shape}, alias=(0,)),
                                 np.broadcast_to(t[0], shape))

    def result(self, out: Tensor, t: tuple[np.ndarray, int] | None, batch: tuple[int, ...]
               ) -> np.ndarray:
        if t is None:
            return np.zeros(batch + out.shape, out.dtype)
        self.rec.bind_array(t[0], t[1])
        return t[0]
