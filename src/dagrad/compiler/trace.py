"""Recording: run fn once eagerly with hooks that write down everything it does, in order.

Forward ops arrive through ``ops.base.HOOKS``; a backward pass through ``autodiff.TRACE``
(recorded one vjp-rule application at a time, see :mod:`.backward`); comparisons, ``.grad``
writes and reads of a traced value from Python through :mod:`.guards`; optimizer steps through
:func:`record_effect`.  Tensors that enter from outside are captured: parameters and other
tensors that existed before the call by reference (their ``.data`` is read at every replay),
tensors made during the call from constants by value.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..tensor import Tensor
from .ir import ARG, CONST, STATE, STEP, Effect, Step, Trace, Value

__all__ = ["CompileError", "Recorder", "record_effect", "ACTIVE", "LOCK"]

LOCK = threading.RLock()
ACTIVE: list[Recorder] = []   # the recorder of the trace running now (at most one)


class CompileError(RuntimeError):
    """fn does something dg.compile cannot replay (the message says what and where)."""


def record_effect(effect: Any) -> bool:
    """Register a side effect at this point of the trace being recorded; False when none is.

    ``effect`` is an optimizer (its ``step()`` is replayed by its in-place ``_update`` when one
    exists for its type, else by calling ``step()``) or a callable (called with no arguments
    at every replay).  The caller still does its work now: the traced call is an eager call.
    """
    rec = ACTIVE[-1] if ACTIVE else None
    if rec is None or threading.get_ident() != rec.thread:
        return False
    rec.add_effect(effect)
    return True


def _new_seq() -> int:
    return Tensor._from_op(np.empty(0), None)._seq


class Recorder:
    """Collects values and steps while fn runs; ``leaves`` are the array arguments."""

    def __init__(self, leaves: list[Any]):
        self.values: list[Value] = []
        self.steps: list[Step] = []
        self.arrays: dict[int, Any] = {}           # vid -> the value at trace time
        self.by_tensor: dict[int, int] = {}        # id(Tensor) -> vid
        self.by_array: dict[int, int] = {}         # id(ndarray) -> vid
        self.fwd_of: dict[int, Step] = {}          # vid -> the fwd step that made it
        self.grad_tensors: dict[int, tuple] = {}   # id(.grad Tensor we set) -> its target
        self.keep: list[Any] = []                  # keeps ids unique while tracing
        self.snapshots: list[tuple[Any, np.ndarray, np.ndarray]] = []
        self.excused: set[int] = set()
        self.calls = False
        self.thread = threading.get_ident()
        self.muted = 0                             # > 0 while we write .grad ourselves
        self.cg_depth = 0                          # > 0 inside a create_graph backward
        self.cg_seq = 0
        self.leaf_arrays: list[np.ndarray] = []
        self.start = _new_seq()
        for i, leaf in enumerate(leaves):
            arr = leaf.data if isinstance(leaf, Tensor) else leaf
            v = self._new(arr, ARG, arg=i, label=f"arg{i}")
            self.by_array[id(arr)] = v
            self.leaf_arrays.append(arr)
            self.snapshots.append((None, arr, np.array(arr, copy=True)))
            if isinstance(leaf, Tensor):
                self.by_tensor[id(leaf)] = v
                self.keep.append(leaf)

    # ----- values -------------------------------------------------------------------------
    def _new(self, arr: Any, kind: str, **kw: Any) -> int:
        a = arr if type(arr) is np.ndarray or isinstance(arr, np.ndarray) else np.asarray(arr)
        vid = len(self.values)
        self.values.append(Value(vid, a.shape, a.dtype, kind, **kw))
        self.arrays[vid] = arr
        return vid

    def _new_step(self, arr: Any, label: str) -> int:
        """_new(arr, STEP, label=label), the recording's most frequent call."""
        a = arr if type(arr) is np.ndarray or isinstance(arr, np.ndarray) else np.asarray(arr)
        vid = len(self.values)
        self.values.append(Value(vid, a.shape, a.dtype, STEP, -1, None, None, label))
        self.arrays[vid] = arr
        return vid

    @staticmethod
    def snap(arr: Any) -> Any:
        """A copy of a small value (folded into a constant if its operands turn out to be)."""
        if type(arr) is np.ndarray or isinstance(arr, np.generic):
            size, nd = arr.size, arr.ndim
        else:
            size, nd = np.size(arr), np.ndim(arr)
        if size > 16:
            return None
        return arr[()] if nd == 0 else np.array(arr, copy=True)

    def bind(self, t: Tensor, vid: int) -> None:
        """Remember that tensor t (and its array) holds value vid."""
        self.by_tensor[id(t)] = vid
        self.by_array[id(t.data)] = vid
        self.keep.append(t)

    def bind_array(self, arr: np.ndarray, vid: int) -> None:
        self.by_array[id(arr)] = vid
        self.keep.append(arr)

    def vid_of(self, t: Tensor) -> int:
        """The value a tensor holds: traced, an argument, a .grad we set, or captured now."""
        v = self.by_tensor.get(id(t))
        if v is not None:
            return v
        target = self.grad_tensors.get(id(t))
        if target is not None:
            v = self._new(t.data, STEP, label="grad")
            self.steps.append(Step("readgrad", [], v, fn=target))
            return v
        v = self.by_array.get(id(t.data))
        if v is None:
            v = self.view_of(t.data)
        if v is None:
            v = self._external(t)
        self.by_tensor[id(t)] = v
        self.keep.append(t)
        return v

    def view_of(self, arr: np.ndarray) -> int | None:
        """A NumPy view (reshape, .T, slice) of a traced array: recorded as a view step."""
        a = arr.base
        while a is not None:
            v = self.by_array.get(id(a))
            if v is not None and isinstance(a, np.ndarray):
                if self.values[v].kind == CONST or not a.flags.c_contiguous or \
                        a.dtype != arr.dtype:
                    return None
                off = arr.__array_interface__["data"][0] - a.__array_interface__["data"][0]
                if off % arr.itemsize:
                    return None
                w = self._new(arr, STEP, label="view")
                self.steps.append(Step("view", [v], w, alias=(0,), attrs={
                    "offset": off // arr.itemsize, "shape": arr.shape, "strides": arr.strides}))
                self.bind_array(arr, w)
                return w
            a = getattr(a, "base", None)
        return None

    def _external(self, t: Tensor) -> int:
        arr = t.data
        if t._seq < self.start:                      # a parameter or other outside state
            self.snapshots.append((t, arr, np.array(arr, copy=True)))
            return self._new(arr, STATE, tensor=t, label=t.name or "state")
        if self.cg_depth and arr.ndim and t._seq > self.cg_seq:
            raise CompileError(
                "dg.compile cannot record this higher-order derivative: a derivative rule "
                f"used a constant computed from a traced value (an array of shape {arr.shape}, "
                "a mask or one-hot); take this derivative eagerly")
        for i, a in enumerate(self.leaf_arrays):     # an argument copied inside fn
            if a.shape == arr.shape and a.size and (
                    bool(a[()] == arr[()]) if arr.ndim == 0 else np.array_equal(a, arr)):
                v = self._new(arr, STEP, label=f"copy of arg{i}")
                self.steps.append(Step("copyarg", [self.by_array[id(a)]], v))
                return v
        const = arr[()] if arr.ndim == 0 else np.array(arr, copy=True)
        return self._new(arr, CONST, const=const, label="const")

    def literal(self, x: Any) -> int:
        """A non-tensor operand (a Python number or an array) of a recorded comparison."""
        if isinstance(x, np.ndarray) and id(x) in self.by_array:
            return self.by_array[id(x)]
        const = np.array(x, copy=True) if isinstance(x, np.ndarray) else x
        return self._new(np.asarray(x), CONST, const=const, label="const")

    def watches(self, t: Tensor) -> bool:
        """True when t's value may differ at the next call (so Python must not branch on it)."""
        if id(t) in self.grad_tensors:
            return True
        v = self.by_tensor.get(id(t))
        if v is None:
            v = self.by_array.get(id(t.data))
        if v is None and t.data.base is not None:
            v = self.view_of(t.data)
        return v is not None and self.values[v].kind != CONST

    def target_of(self, t: Tensor) -> tuple[str, Any] | None:
        """How to find leaf t at replay: ("arg", i) or ("obj", t); None for tensors made here."""
        v = self.by_tensor.get(id(t))
        if v is not None:
            kind = self.values[v].kind
            if kind == ARG and self.leaf_is_tensor(self.values[v].arg, t):
                return ("arg", self.values[v].arg)
            if kind == STATE:
                return ("obj", t)
            return None
        seq = getattr(t, "_seq", None)
        if seq is not None and seq < self.start:
            return ("obj", t)
        return None

    def leaf_is_tensor(self, i: int, t: Tensor) -> bool:
        return t.data is self.leaf_arrays[i] and t._seq < self.start

    def _folded(self, ins: list[int], arr: Any) -> Any:
        if not ins:
            return None
        values = self.values
        for i in ins:
            if values[i].kind != CONST:
                return None
        return arr[()] if np.ndim(arr) == 0 else np.array(arr, copy=True)

    def _dyn(self, attrs: dict[str, Any]) -> list[tuple[tuple, int, tuple[int, ...]]]:
        """Arrays inside attrs that are (views of) traced values: re-derived at every replay."""
        found: list[tuple[tuple, int, tuple[int, ...]]] = []
        if not attrs:
            return found

        def walk(x: Any, path: tuple) -> None:
            if isinstance(x, np.ndarray):
                a: Any = x
                while a is not None:
                    v = self.by_array.get(id(a))
                    if v is not None and self.values[v].kind != CONST:
                        if a is not x and not (x.size == a.size and x.flags.c_contiguous):
                            raise CompileError("dg.compile: an op's index is a strided view of "
                                               "a traced array; pass a contiguous index")
                        found.append((path, v, x.shape))
                        return
                    a = a.base
            elif isinstance(x, (tuple, list)):
                for k, item in enumerate(x):
                    walk(item, path + (k,))
            elif isinstance(x, dict):
                for k, item in x.items():
                    walk(item, path + (k,))

        walk(attrs, ())
        return found

    # ----- hooks ----------------------------------------------------------------------------
    def on_inplace(self, t: Tensor, what: str) -> None:
        """ops.base.INPLACE_HOOKS: a tensor changed in place by fn (not replayable: refused)."""
        if threading.get_ident() != self.thread:
            return
        raise CompileError(
            f"dg.compile: {what} changes a tensor in place inside the compiled function, which "
            "the replay cannot repeat; compute out of place (y = y + x), step a dagrad "
            "optimizer (replayed), or register the update with record_effect")

    def on_op(self, op: Any, inputs: Any, out: Tensor, attrs: dict[str, Any]) -> None:
        """ops.base.HOOKS: one forward op application."""
        if threading.get_ident() != self.thread:
            return
        by_tensor = self.by_tensor
        ins = [by_tensor.get(id(t)) for t in inputs]
        if None in ins:
            ins = [self.vid_of(t) for t in inputs]
        arr = out.data
        alias = tuple(k for k, t in enumerate(inputs)
                      if t.data.ndim and np.may_share_memory(arr, t.data)) if arr.ndim else ()
        v = self._new_step(arr, op.name)
        dyn = self._dyn(attrs) if attrs else ()
        step = Step("fwd", ins, v, op, attrs, 0, None, None, False, dyn, alias)  # positional
        if not dyn:
            if ins and self.values[ins[0]].kind == CONST:   # (else not all constants)
                step.folded = self._folded(ins, arr)
            step.snap = arr[()] if type(arr) is np.ndarray and not arr.ndim else self.snap(arr)
        self.steps.append(step)
        self.fwd_of[v] = step
        by_tensor[id(out)] = v                     # bind(out, v)
        self.by_array[id(arr)] = v
        self.keep.append(out)

    def on_compare(self, fn: Any, a: Any, b: Any, out: Tensor) -> None:
        """A comparison (no gradient, but dg.where may select with it)."""
        if threading.get_ident() != self.thread:
            return
        ins = [self.vid_of(x) if isinstance(x, Tensor) else self.literal(x) for x in (a, b)]
        v = self._new(out.data, STEP, label=fn.__name__)
        self.steps.append(Step("cmp", ins, v, fn=fn, folded=self._folded(ins, out.data)))
        self.bind(out, v)

    def on_grad_write(self, obj: Tensor, value: Any) -> None:
        """``t.grad = value`` by fn (zero_grad, user code) on an argument or outside tensor."""
        if self.muted or threading.get_ident() != self.thread:
            return
        target = self.target_of(obj)
        if target is None:
            return
        self.grad_tensors = {k: t for k, t in self.grad_tensors.items()  # ("obj", Tensor)
                             if t[0] != target[0] or (t[1] is not target[1] if t[0] == "obj"
                                                      else t[1] != target[1])}  # by identity
        if value is None:
            eff = Effect("setgrad", target)
        elif isinstance(value, Tensor) and self.watches(value):
            eff = Effect("setgrad", target, vid=self.vid_of(value))
        else:
            eff = Effect("setgrad", target, obj=value)
        self.steps.append(Step("effect", [] if eff.vid is None else [eff.vid], fn=eff))

    def add_effect(self, effect: Any) -> None:
        """An optimizer step or a user callable (see :func:`record_effect`)."""
        from ..optim import Optimizer

        if isinstance(effect, Optimizer):
            eff = Effect("optim", obj=effect)
            for group in effect.param_groups:
                self.excused.update(id(p) for p in group["params"])
        elif callable(effect):
            eff = Effect("call", obj=effect)
            self.calls = True
        else:
            raise TypeError(f"record_effect: expected an optimizer or a callable, got "
                            f"{type(effect).__name__}")
        self.steps.append(Step("effect", [], fn=eff))

    def grad_effect(self, leaf: Tensor, g: Any, gv: int, given: set[int]) -> None:
        """Backward reached a leaf: accumulate into its .grad now and record the same."""
        from .. import autodiff

        target = self.target_of(leaf)
        if target is None:
            raise CompileError("dg.compile: retain_grad() on a tensor computed inside the "
                               "compiled function is not supported; return the gradient with "
                               "dg.grad instead")
        self.muted += 1
        try:
            autodiff.accumulate(leaf, g, False, given)
        finally:
            self.muted -= 1
        dt = leaf.data.dtype
        cast = dt if np.asarray(g).dtype != dt else None
        self.steps.append(Step("effect", [gv], fn=Effect("grad", target, vid=gv, dtype=cast)))
        self.grad_tensors[id(leaf.grad)] = target
        self.keep.append(leaf.grad)

    # ----- the end --------------------------------------------------------------------------
    def check_mutations(self) -> None:
        """Refuse when fn changed an argument or an outside tensor in place with NumPy."""
        for t, arr, before in self.snapshots:
            if t is not None and (self.calls or id(t) in self.excused):
                continue
            now = arr if t is None else t.data
            same = now is arr and np.array_equal(arr, before, equal_nan=arr.dtype.kind in "fc")
            if not same:
                what = "an argument" if t is None else \
                    f"tensor {t.name!r}" if t.name else f"a tensor of shape {arr.shape}"
                raise CompileError(
                    f"dg.compile: fn changed {what} in place outside dagrad's ops, which a "
                    "replay would not repeat; update parameters with a dg.optim optimizer or "
                    "register the update with dg.compile.record_effect")

    def trace(self, outputs: Any) -> Trace:
        """The finished recording."""
        return Trace(self.values, self.steps, outputs, len(self.leaf_arrays), self.arrays)
