"""The buffer plan: which steps run, with which kernel, writing into which preallocated buffer.

Passes, in order: fold steps whose operands are all constants; pick a kernel per step (a 0-d
template, an array kernel, or the table's own function); drop steps nothing needs (outputs and
effects are the roots, and a kernel reads only what it declares: the input's gradient is never
computed when the input needs none; a step kept only for the values it saves for its vjp is
marked ``dead`` and may skip its result); move hoistable kernels (bias gradients' batch sums)
up to right after what they read; find each value's last use; then walk the steps assigning
every kernel result a buffer — the buffer of an operand that dies here (in place), a free one
of the same shape, or a new one.  Gradients handed to ``.grad`` get buffers of their own, and
so do values fn returns once (``Plan.fresh``: the replay may make them anew per call and hand
them out without a copy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import tuning
from . import kernels
from .ir import CONST, Out, Step, Trace, Value
from .kernels import Kernel, View

__all__ = ["Item", "Plan", "build"]


@dataclass(eq=False, slots=True)
class Item:
    """One step as it will run."""

    step: Step
    operands: list[int]
    kernel: Kernel | None = None
    template: str | None = None
    reads: tuple[int, ...] = ()
    temps: Sequence[int] = ()
    dead: bool = False              # kept only for the values it saves: its result is unused


@dataclass
class Plan:
    """The steps to run and the storage of every value."""

    trace: Trace
    values: list[Value]
    items: list[Item]
    buffers: list[np.ndarray]
    store: dict[int, tuple]          # vid -> ("buf", b) | ("local",) | ("alias", vid)
    dedicated: dict[int, int]        # vid handed to .grad -> its own buffer
    outputs: Any
    #: vid returned by fn (once) -> its own buffer, which the replay may make anew per call and
    #: hand out instead of copying it
    fresh: dict[int, int] = field(default_factory=dict)


_PURE = ("fwd", "vjp", "jvp", "add", "cmp", "cast", "reshape", "broadcast", "view")


def _operands(step: Step) -> list[int]:
    return list(step.ins)


def _fold(trace: Trace) -> list[Step]:
    steps = []
    for s in trace.steps:
        if s.folded is not None and s.kind in _PURE and \
                s.out is not None and not s.saved:
            v = trace.values[s.out]
            v.kind, v.const = CONST, s.folded
            continue
        steps.append(s)
    return steps


def _choose(steps: list[Step], values: list[Value]) -> list[Item]:
    """A 0-d template or an array kernel for every step that has one."""
    items = [Item(s, s.ins) for s in steps]    # (operands: the step's list, never changed)
    chosen: dict[tuple, str | None] = {}    # (op, kind, index) -> template, plain steps
    for it in items:
        s = it.step
        if s.kind not in ("fwd", "vjp", "add"):
            continue
        if values[s.out].shape == ():
            for v in it.operands:
                if values[v].shape != ():
                    break
            else:
                if s.attrs or s.dyn or s.sum_to is not None or s.wrap:
                    t = kernels.scalar_template(s)
                else:                   # the same answer for every such step of a rule
                    key = (s.op, s.kind, s.index)
                    t = chosen[key] if key in chosen else \
                        chosen.setdefault(key, kernels.scalar_template(s))
                if t is not None:
                    it.template = t
                    continue
        ops = [values[v] for v in it.operands]
        k = kernels.select(View(s, ops, values[s.out]))
        it.kernel = None if k is not None and s.saved and not k.saves else k
    return items


def _reads(it: Item, values: list[Value]) -> tuple[int, ...]:
    s = it.step
    if it.template is not None:
        r = [it.operands[k] for k in kernels.reads(it.template, s, len(it.operands))]
    elif it.kernel is not None and it.kernel.reads is not None:
        r = [it.operands[k] for k in it.kernel.reads]
    else:
        r = list(it.operands)
    return tuple(r)


def _all_const(vids: Any, values: list[Value]) -> bool:
    for v in vids:
        if values[v].kind != CONST:
            return False
    return True


def _fold_reads(items: list[Item], values: list[Value]) -> list[Item]:
    """Steps that read only constants become constants (e.g. 1·100 in Rosenbrock's backward)."""
    kept = []
    for it in items:
        s = it.step
        reads = it.reads
        if s.snap is not None and reads and values[reads[0]].kind == CONST and \
                s.kind in _PURE and not s.saved and _all_const(reads, values):
            v = values[s.out]
            v.kind, v.const = CONST, s.snap
            continue
        kept.append(it)
    return kept


def _out_vids(outs: Any, once: set[int] | None = None) -> set[int]:
    """The values fn returns (``once``, if given, collects those returned exactly once)."""
    found: set[int] = set()
    twice: set[int] = set()

    def walk(x: Any) -> None:
        if isinstance(x, Out):
            if x.kind in ("tensor", "array"):
                if x.vid in found:
                    twice.add(x.vid)
                found.add(x.vid)
        elif isinstance(x, (tuple, list)):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            for y in x.values():
                walk(y)

    walk(outs)
    if once is not None:
        once.update(found - twice)
    return found


def _hoist(items: list[Item]) -> list[Item]:
    """Steps whose kernel may be hoisted run right after the last step making a value they
    read — never across an effect or a read of ``.grad`` (those may change a captured tensor
    or a gradient in place).  Values are written once, so a value read earlier is the same."""
    after: dict[int, list[Item]] = {}
    made: dict[int, int] = {}
    barrier = -1
    moved = False
    for i, it in enumerate(items):
        s = it.step
        k = it.kernel
        if k is not None and k.hoist:
            at = barrier
            for v in it.reads:
                p = made.get(v, -1)
                if p > at:
                    at = p
            if at < i - 1:
                after.setdefault(at, []).append(it)
                moved = True
                it = None                       # (placed after step `at`)
        if s.kind in ("effect", "readgrad"):
            barrier = i
        if it is not None:
            if s.out is not None:
                made[s.out] = i
            for v in s.saved:
                made[v] = i
        else:
            if s.out is not None:
                made[s.out] = i                 # consumers stay after i: still correct
    if not moved:
        return items
    hoisted = {id(it) for lst in after.values() for it in lst}
    out = list(after.get(-1, ()))
    for i, it in enumerate(items):
        if id(it) not in hoisted:
            out.append(it)
        out.extend(after.get(i, ()))
    return out


def _dce(items: list[Item], outs: set[int]) -> list[Item]:
    needed = set(outs)
    kept = []
    for it in reversed(items):
        s = it.step
        if s.kind == "effect" or s.out in needed or \
                (s.saved and not needed.isdisjoint(s.saved)):
            it.dead = s.out is not None and s.out not in needed
            kept.append(it)
            needed.update(it.reads)
    kept.reverse()
    return kept


class _Allocator:
    """Linear scan over the steps: buffers by (shape, dtype), reused once all holders are dead.

    Each buffer knows the last step any holder is read at (``until``); release(i) looks only at
    the buffers due at step i, so the scan costs O(1) per step however many buffers exist."""

    def __init__(self, values: list[Value], last: dict[int, int]):
        self.values = values
        self.last = last
        self.buffers: list[np.ndarray] = []
        self.holders: dict[int, set[int]] = {}
        self.free: dict[tuple, list[int]] = {}
        self.pinned: set[int] = set()
        self.store: dict[int, tuple] = {}
        self.roots: dict[int, frozenset[int]] = {}
        self.until: dict[int, int] = {}
        self.due: dict[int, set[int]] = {}
        self.now = 0
        self.fresh_wanted: set[int] = set()      # returned values: a buffer of their own
        self.fresh: dict[int, int] = {}

    def new(self, shape: tuple[int, ...], dtype: np.dtype, dedicated: bool = False,
            order: str = "C") -> int:
        key = (tuple(shape), np.dtype(dtype), order)
        pool = self.free.get(key)
        if pool and not dedicated:
            return pool.pop()
        self.buffers.append(np.zeros(shape, dtype, order=order))
        b = len(self.buffers) - 1
        self.holders[b] = set()
        self.until[b] = -1
        if dedicated:
            self.pinned.add(b)
        return b

    def hold(self, b: int, vid: int) -> None:
        """vid lives in buffer b (until its last use)."""
        self.holders[b].add(vid)
        at = max(self.last.get(vid, -1), self.now)
        if at > self.until[b]:
            self.until[b] = at
            self.due.setdefault(at, set()).add(b)

    def put(self, vid: int, b: int) -> None:
        self.store[vid] = ("buf", b)
        self.roots[vid] = frozenset((b,))
        self.hold(b, vid)

    def share(self, vid: int, roots: frozenset[int], store: tuple) -> None:
        self.store[vid] = store
        self.roots[vid] = roots
        for b in roots:
            self.hold(b, vid)

    def dying(self, u: int, i: int, taken: set[int]) -> int | None:
        """The buffer of operand u if it can be overwritten at step i (u dies, nobody shares)."""
        st = self.store.get(u)
        if st is None or st[0] != "buf" or self.last.get(u, -1) != i:
            return None
        b = st[1]
        if b in self.pinned or b in taken:
            return None
        for w in self.holders[b]:
            lw = self.last.get(w, -1)
            if lw > i or (lw == i and self.store.get(w) != st):
                return None
        return b

    def release(self, i: int) -> None:
        """Free the buffers whose holders are all dead after step i (in buffer order)."""
        self.now = i + 1
        due = self.due.pop(i, None)
        if not due:
            return
        for b in sorted(due):
            hs = self.holders[b]
            if b in self.pinned or not hs or self.until[b] > i:
                continue
            hs.clear()
            self.until[b] = -1
            arr = self.buffers[b]
            self.free.setdefault((arr.shape, arr.dtype, order_of(arr)), []).append(b)


def order_of(arr: np.ndarray) -> str:
    """"F" for a feature-major (Fortran-ordered, not C-contiguous) buffer, else "C"."""
    return "F" if arr.flags.f_contiguous and not arr.flags.c_contiguous else "C"


def _layout(alloc: _Allocator, it: Item, arrays: dict[int, Any]) -> str:
    """The result layout for a tunable kernel: F when timing it is clearly (>15%) faster."""
    sample = []
    for vid in it.operands:
        a = np.asarray(arrays.get(vid))
        st = alloc.store.get(vid)
        if st is not None and st[0] == "buf" and order_of(alloc.buffers[st[1]]) == "F":
            a = np.asfortranarray(a)
        sample.append(a)
    try:
        tc, tf = tuning.best_seconds((it.kernel.tune("C", sample), it.kernel.tune("F", sample)))
    except Exception:              # pragma: no cover - a sample that does not run: keep C
        return "C"
    return "F" if tuning.clearly_faster(tf, tc) else "C"


def build(trace: Trace, tune: bool = True) -> Plan:
    """Plan the replay of a trace (``tune``: time layout choices on the traced shapes)."""
    values = trace.values
    steps = _fold(trace)
    items = _choose(steps, values)
    parsed: dict[tuple, tuple[int, ...]] = {}    # (template, kind, n) -> positions read
    for it in items:
        t = it.template
        if t is None:
            it.reads = _reads(it, values)
            continue
        ops = it.operands
        key = (t, it.step.kind, len(ops))
        pos = parsed.get(key)
        if pos is None:
            pos = parsed[key] = kernels.reads(t, it.step, len(ops))
        it.reads = tuple([ops[k] for k in pos])
    items = _fold_reads(items, values)
    once: set[int] = set()
    outs = _out_vids(trace.outputs, once)
    items = _hoist(_dce(items, outs))
    end = len(items)
    last: dict[int, int] = {}
    for i, it in enumerate(items):
        for v in it.reads:
            last[v] = i
    for v in outs:
        last[v] = end
    grads = {it.step.fn.vid for it in items if it.step.kind == "effect" and
             it.step.fn.kind == "grad"}
    alloc = _Allocator(values, last)
    alloc.fresh_wanted = once - grads
    dedicated: dict[int, int] = {}
    arrays = trace.arrays if tune else None
    release, store = alloc.release, alloc.store
    for i, it in enumerate(items):
        s = it.step
        if it.template is not None and not s.saved:   # a 0-d local: _assign's first case
            store[s.out] = ("local",)
            alloc.roots[s.out] = frozenset()
        else:
            _assign(alloc, it, i, values, grads, dedicated, arrays)
        release(i)
    return Plan(trace, values, items, alloc.buffers, alloc.store, dedicated, trace.outputs,
                alloc.fresh)


def _assign(alloc: _Allocator, it: Item, i: int, values: list[Value], grads: set[int],
            dedicated: dict[int, int], arrays: dict[int, Any] | None) -> None:
    s = it.step
    out = s.out
    if out is None:
        return
    k = it.kernel
    if it.template is not None or k is None:
        roots: frozenset[int] = frozenset()
        if k is None and it.template is None:
            for pos in s.alias:
                roots |= alloc.roots.get(it.operands[pos], frozenset())
        alloc.share(out, roots, ("local",))
        for vid in s.saved:                      # the table's forward returns them: locals
            alloc.share(vid, frozenset(), ("local",))
        return
    saved_in: set[int] = set()
    for vid in s.saved if k.saves else ():    # the values the forward saves: buffers of their
        a = values[vid]                        # own (the first may be a dying operand's)
        b = alloc.dying(it.operands[0], i, saved_in)
        ok = b is not None and values[it.operands[0]].shape == a.shape and \
            values[it.operands[0]].dtype == a.dtype
        b = b if ok else alloc.new(a.shape, a.dtype)
        saved_in.add(b)
        alloc.put(vid, b)
    if k.result == "alias":
        src = it.operands[k.alias]
        alloc.share(out, alloc.roots.get(src, frozenset()), ("alias", src))
        return
    taken: set[int] = set(saved_in)
    v = values[out]
    dest = None
    if k.result == "buffer":
        if out in grads:
            dest = alloc.new(v.shape, v.dtype, dedicated=True)
            dedicated[out] = dest
        elif out in alloc.fresh_wanted:
            pass                                 # its own buffer, below
        else:
            for pos in k.inplace:
                b = alloc.dying(it.operands[pos], i, taken)
                if b is not None and values[it.operands[pos]].shape == v.shape and \
                        values[it.operands[pos]].dtype == v.dtype:
                    dest = b
                    break
        if dest is not None:
            taken.add(dest)
    temps: list[int] = []
    it.temps = temps
    for j in range(k.temps):
        b = None
        if j == 0:
            for pos in k.temp_inplace:
                b = alloc.dying(it.operands[pos], i, taken)
                if b is not None:
                    break
        if b is None:
            b = alloc.new(v.shape, v.dtype)
        taken.add(b)
        temps.append(b)
    if k.result == "buffer":
        if dest is None and k.result_in_temp and it.temps:
            dest = it.temps[0]
        if dest is None:
            order = _layout(alloc, it, arrays) if k.tune is not None and arrays else "C"
            if k.follow is not None:
                st = alloc.store.get(it.operands[k.follow])
                order = order_of(alloc.buffers[st[1]]) if st is not None and st[0] == "buf" \
                    else "C"
            own = out in alloc.fresh_wanted
            dest = alloc.new(v.shape, v.dtype, dedicated=own, order=order)
            if own:
                alloc.fresh[out] = dest
        alloc.put(out, dest)
    else:
        alloc.share(out, frozenset(), ("local",))
    for b in it.temps:               # scratch: free again after this step unless it holds out
        if b != dest:
            alloc.last[-1 - b] = i
            alloc.hold(b, -1 - b)
