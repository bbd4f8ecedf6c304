"""``compile(fn)``: trace on the first call per argument signature, then replay the plan.

The signature of a call is the shapes and dtypes of its array arguments (Tensors, ndarrays,
NumPy scalars — anywhere inside tuples, lists and dicts) and the values of the others; a new
signature traces again.  The traced call *is* an eager call: its result is fn's own.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import autodiff
from ..ops import base
from ..tensor import Tensor
from . import guards
from .ir import ARG, STATE, STEP, Out
from .plan import build
from .replay import Stale, generate
from .sweeps import TracedSweeps
from .trace import ACTIVE, LOCK, Recorder

__all__ = ["CompiledFunction", "compile"]


def _walk(x: Any, leaves: list[Any], key: list[Any]) -> None:
    if isinstance(x, Tensor):
        d = x.data
        leaves.append(x)
        key.append((d.shape, d.dtype, x.requires_grad))
    elif isinstance(x, np.ndarray):
        leaves.append(x)
        key.append((x.shape, x.dtype))
    elif isinstance(x, np.generic):
        leaves.append(np.asarray(x))
        key.append(("scalar", x.dtype))
    elif isinstance(x, (tuple, list)):
        key.append((type(x), len(x)))
        for y in x:
            _walk(y, leaves, key)
    elif isinstance(x, dict):
        key.append((dict, tuple(x)))
        for y in x.values():
            _walk(y, leaves, key)
    else:
        try:
            hash(x)
            key.append((type(x), x))
        except TypeError:
            key.append((type(x), id(x)))


def _flatten(args: tuple, kwargs: dict[str, Any]) -> tuple[list[Any], tuple]:
    """(array leaves, signature key) of a call."""
    leaves: list[Any] = []
    key: list[Any] = []
    for a in args:
        _walk(a, leaves, key)
    if kwargs:
        key.append(tuple(kwargs))
        for k in kwargs:
            _walk(kwargs[k], leaves, key)
    return leaves, tuple(key)


def _rebuild(args: tuple, kwargs: dict[str, Any], leaves: list[Any]) -> tuple[tuple, dict]:
    """The call's arguments with NumPy scalars replaced by their 0-d arrays (the leaves)."""
    it = iter(leaves)

    def walk(x: Any) -> Any:
        if isinstance(x, (Tensor, np.ndarray, np.generic)):
            return next(it)
        if isinstance(x, (tuple, list)):
            items = [walk(y) for y in x]
            if hasattr(x, "_fields"):
                return type(x)(*items)
            return type(x)(items)
        if isinstance(x, dict):
            return {k: walk(y) for k, y in x.items()}
        return x

    new_args = tuple(walk(a) for a in args)
    return new_args, {k: walk(kwargs[k]) for k in kwargs}


def _outputs(rec: Recorder, result: Any) -> Any:
    """fn's result with every leaf turned into an :class:`Out` marker."""

    def conv(x: Any) -> Any:
        if isinstance(x, Tensor):
            if id(x) in rec.grad_tensors:
                return Out("grad", target=rec.grad_tensors[id(x)])
            if not rec.watches(x):
                return Out("object", obj=x)
            v = rec.vid_of(x)
            val = rec.values[v]
            if val.kind == STATE:
                return Out("object", obj=x)
            if val.kind == ARG and rec.leaf_is_tensor(val.arg, x):
                return Out("leaf", vid=val.arg)
            return Out("tensor", vid=v)
        if isinstance(x, np.ndarray):
            v = rec.by_array.get(id(x))
            if v is None:
                v = rec.view_of(x)
            if v is None or rec.values[v].kind not in (STEP, ARG):
                return Out("object", obj=x)
            return Out("array", vid=v)
        if isinstance(x, tuple):
            items = [conv(y) for y in x]
            return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
        if isinstance(x, list):
            return [conv(y) for y in x]
        if isinstance(x, dict):
            return {k: conv(y) for k, y in x.items()}
        return Out("object", obj=x)

    return conv(result)


class CompiledFunction:
    """fn, traced once per signature and replayed as a preallocated plan (see dg.compile)."""

    def __init__(self, fn: Callable, max_signatures: int = 32, tune: bool = True):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.max_signatures = max_signatures
        self.tune = tune
        self.traces = 0
        self._replays: dict[tuple, Callable] = {}
        self._sources: dict[tuple, Any] = {}
        self._plans: dict[tuple, Any] = {}
        #: seconds of the latest trace's phases: "trace" (the eager call recorded), "plan",
        #: "generate" (the replay built), and "items" (steps in the plan)
        self.timings: dict[str, float] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if ACTIVE:                          # inside another trace: run eagerly, recorded there
            return self.fn(*args, **kwargs)
        leaves, key = _flatten(args, kwargs)
        replay = self._replays.get(key)
        if replay is not None:
            try:
                return replay(tuple(x.data if isinstance(x, Tensor) else x for x in leaves),
                              leaves)
            except Stale:                   # a parameter changed shape or dtype
                del self._replays[key]
        return self._trace(key, leaves, args, kwargs)

    def _trace(self, key: tuple, leaves: list[Any], args: tuple, kwargs: dict) -> Any:
        with _gc_paused():
            return self._trace_and_plan(key, leaves, args, kwargs)

    def _trace_and_plan(self, key: tuple, leaves: list[Any], args: tuple, kwargs: dict) -> Any:
        t0 = time.perf_counter()
        args, kwargs = _rebuild(args, kwargs, leaves)
        with LOCK:
            rec = Recorder(leaves)
            sweeps = TracedSweeps(rec)
            ACTIVE.append(rec)
            base.HOOKS.append(rec.on_op)
            base.INPLACE_HOOKS.append(rec.on_inplace)
            autodiff.TRACE.append(sweeps)
            try:
                with guards.installed(rec):
                    result = self.fn(*args, **kwargs)
            finally:
                autodiff.TRACE.remove(sweeps)
                base.INPLACE_HOOKS.remove(rec.on_inplace)
                base.HOOKS.remove(rec.on_op)
                ACTIVE.remove(rec)
            rec.check_mutations()
            trace = rec.trace(_outputs(rec, result))
        t1 = time.perf_counter()
        plan = build(trace, tune=self.tune)
        trace.arrays = {}                   # the traced call's arrays: no longer needed
        t2 = time.perf_counter()
        replay, source = generate(plan, getattr(self.fn, "__name__", "fn"))
        self.timings = {"trace": t1 - t0, "plan": t2 - t1, "generate": time.perf_counter() - t2,
                        "items": float(len(plan.items))}
        if len(self._replays) >= self.max_signatures:
            oldest = next(iter(self._replays))
            for d in (self._replays, self._sources, self._plans):
                d.pop(oldest, None)
        self._replays[key] = replay
        self._sources[key] = source
        self._plans[key] = plan
        self.traces += 1
        return result

    @property
    def source(self) -> str:
        """The generated replay code of the latest signature traced."""
        if not self._sources:
            raise RuntimeError("dg.compile: not traced yet (call the function once)")
        key = next(reversed(self._sources))
        src = self._sources[key]
        if callable(src):                   # an interpreted plan's source: made when asked
            src = self._sources[key] = src()
        return src

    @property
    def interpreted(self) -> bool:
        """True when the latest signature's plan replays as interpreted steps (a plan longer
        than ``fastpaths.COMPILE_CODEGEN_LIMIT`` lines), False for one generated function."""
        if not self._replays:
            raise RuntimeError("dg.compile: not traced yet (call the function once)")
        return getattr(next(reversed(self._replays.values())), "interpreted", False)

    @property
    def plan(self) -> Any:
        """The buffer plan of the latest signature traced."""
        if not self._plans:
            raise RuntimeError("dg.compile: not traced yet (call the function once)")
        return next(reversed(self._plans.values()))

    def buffer_bytes(self) -> int:
        """Bytes of the preallocated buffers of every plan held."""
        return sum(b.nbytes for p in self._plans.values() for b in p.buffers)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"<dg.compile of {name}: {len(self._replays)} signature(s) traced>"


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cycle collector off while a trace is recorded and planned: the recording holds a
    few objects per op, and full collections rescanning them made tracing quadratic in the
    graph's size (everything it makes is freed by reference counting as usual).  Afterwards
    the survivors (the plan and its replay, a few objects per step) join the oldest generation
    directly (gc.freeze + gc.unfreeze, only when nothing else is frozen), instead of the first
    young collections scanning every one of them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:      # (nobody else uses the permanent generation)
            gc.freeze()                     # what survived the trace (the plan, the replay)
            gc.unfreeze()                   # goes to the oldest generation at once, not
        if enabled:                         # through young collections rescanning it all
            gc.enable()


def compile(fn: Callable | None = None, *, max_signatures: int = 32,  # noqa: A001
            tune: bool = True) -> Any:
    """dg.compile(fn) → a function equal to fn, traced once per signature and then replayed.

    ``max_signatures``: plans kept (oldest dropped first); ``tune``: time layout choices on
    the traced shapes (False: always row-major, fully deterministic plans).  See
    :mod:`dagrad.compiler` for what is recorded, what is refused and why.
    """
    if fn is None:
        return functools.partial(compile, max_signatures=max_signatures, tune=tune)
    return CompiledFunction(fn, max_signatures, tune)
