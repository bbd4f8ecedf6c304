"""``dg.vmap(f, in_axes=0, out_axes=0)``: f mapped over a batch axis (JAX's transform).

How: f is traced on one sample (the op graph dagrad records anyway) and the graph is replayed
once on the whole batch, each op applied with the batch as a leading axis — the axes the table's
rules already carry (reductions and softmax keep negative axes, ``scatter_add`` and the vjp
rules take leading batch axes; reshape, transpose, indexing, matmul and cross_entropy get the
batch axis prepended; an op without such a rule runs sample by sample inside the replay).

Per-sample gradients: for ``vmap(grad(loss), in_axes=(None, 0, 0))(params, x, y)`` the per-sample
losses L (N,) come from one batched forward in which ``params`` enter as one copy per sample (a
broadcast view, so L_i depends on copy i only), and one backward of Σ_i L_i gives the gradient
with respect to every copy — the per-sample gradients, (N,) + params.shape — with no loop over
samples and no N-fold cotangents.

A function whose graph depends on the data beyond its inputs — a comparison mask, a branch on
values, a constant computed from a label, random draws — is detected (f is traced on two samples
that differ, and their graphs, constants and outputs are compared with the replay) and then
mapped by calling f sample by sample, the reference semantics.  So is f inside another transform
(inputs that require grad), where the per-sample calls are recorded like any other op.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from . import autodiff
from . import functional as fn_mod
from .ops import base, linalg, nn, reduce, shape
from .ops import elementwise as ew
from .tensor import COMPARE_TRACERS, Tensor, _grad_mode

__all__ = ["vmap"]

Axes = int | None | Sequence[int | None]


class _Fallback(Exception):
    """The traced graph cannot be replayed on the batch: map f sample by sample instead."""


# ----- in_axes / out_axes -------------------------------------------------------------------------
def _check_axis_spec(spec: Any, what: str) -> None:
    ok = spec is None or (isinstance(spec, (int, np.integer)) and not isinstance(spec, bool))
    if not ok and isinstance(spec, (tuple, list)):
        for s in spec:
            if not (s is None or (isinstance(s, (int, np.integer)) and not isinstance(s, bool))):
                raise TypeError(f"vmap: {what} entries must be an int or None, got {s!r} "
                                f"(of type {type(s).__name__}); nested in_axes for containers "
                                "are not supported")
        return
    if not ok:
        raise TypeError(f"vmap: {what} must be an int, None or a tuple of them, got {spec!r}")


def _arg_axes(in_axes: Axes, args: tuple) -> tuple[int | None, ...]:
    if isinstance(in_axes, (tuple, list)):
        if len(in_axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(in_axes)} entries but the function was "
                             f"called with {len(args)} positional arguments")
        return tuple(in_axes)
    return (in_axes,) * len(args)


def _batch_args(args: tuple, axes: tuple) -> tuple[list[Any], list[bool], int]:
    """The batched arguments with their batch axis moved to the front, flags, batch size N."""
    out: list[Any] = []
    flags: list[bool] = []
    sizes: dict[int, int] = {}
    for i, (a, ax) in enumerate(zip(args, axes, strict=True)):
        if ax is None:
            out.append(a)
            flags.append(False)
            continue
        if isinstance(a, (dict, list, tuple)) and not isinstance(a, Tensor):
            raise TypeError(f"vmap: argument {i} is a {type(a).__name__}; a batched argument "
                            "must be a Tensor or an array (use in_axes=None for containers)")
        nd = a.ndim if isinstance(a, Tensor) else np.ndim(a)
        if nd == 0:
            raise ValueError(f"vmap: in_axes={ax} for argument {i}, but it is 0-d (a scalar has "
                             "no axis to map over); use None for it")
        if not -nd <= ax < nd:
            raise ValueError(f"vmap: in_axes={ax} is out of range for argument {i} of rank "
                             f"{nd} (shape {tuple(np.shape(a))})")
        ax = int(ax) % nd
        if isinstance(a, Tensor):
            moved = a if ax == 0 else a.permute([ax] + [k for k in range(nd) if k != ax])
        else:
            arr = np.asarray(a)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"vmap: argument {i} holds {arr.dtype} values, not numbers")
            moved = np.moveaxis(arr, ax, 0)
        sizes[i] = moved.shape[0]
        out.append(moved)
        flags.append(True)
    if not sizes:
        raise ValueError("vmap: in_axes maps no argument (every entry is None); give at least "
                         "one batched argument")
    if len(set(sizes.values())) > 1:
        raise ValueError("vmap: the batched arguments have different sizes along their mapped "
                         "axes: " + ", ".join(f"argument {i}: {n}" for i, n in sizes.items()))
    return out, flags, next(iter(sizes.values()))


def _sample(a: Any, i: int) -> Tensor:
    """Sample i of a batched argument, as a Tensor (recorded indexing for a recorded Tensor)."""
    if isinstance(a, Tensor):
        return a[i] if a.requires_grad else Tensor._from_op(np.array(a.data[i]), None)
    return Tensor._from_op(np.array(a[i]), None)


# ----- trees of outputs ---------------------------------------------------------------------------
def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, (tuple, list)):
        return [x for t in tree for x in _leaves(t)]
    if isinstance(tree, dict):
        return [x for t in tree.values() for x in _leaves(t)]
    return [tree]


def _rebuild(tree: Any, it: Any) -> Any:
    if isinstance(tree, (tuple, list)):
        items = [_rebuild(t, it) for t in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else type(tree)(items)
    if isinstance(tree, dict):
        return {k: _rebuild(v, it) for k, v in tree.items()}
    return next(it)


def _place(x: Any, out_axis: int | None, n: int, batched: bool, nested: bool) -> Any:
    """An output leaf with its batch axis at ``out_axis`` (an unbatched one is broadcast)."""
    if not isinstance(x, Tensor):
        x = Tensor._from_op(np.asarray(x), None)
    if out_axis is None:
        if batched:
            raise ValueError("vmap: out_axes=None for an output that depends on the batched "
                             "inputs; give the axis where its batch axis goes")
        return x
    if not batched:
        x = shape.broadcast_to(x, (n,) + x.shape) if nested else \
            Tensor._from_op(np.broadcast_to(x.data, (n,) + x.shape).copy(), None)
    nd = x.ndim
    if not -nd <= out_axis < nd:
        raise ValueError(f"vmap: out_axes={out_axis} is out of range for an output of rank {nd}")
    ax = int(out_axis) % nd
    if ax == 0:
        return x
    perm = list(range(1, nd))
    perm.insert(ax, 0)
    return x.permute(perm) if nested else Tensor._from_op(np.transpose(x.data, perm).copy(),
                                                          None)


def _out_axes(out_axes: Axes, leaves: int) -> list[int | None]:
    if isinstance(out_axes, (tuple, list)):
        if len(out_axes) != leaves:
            raise ValueError(f"vmap: out_axes has {len(out_axes)} entries but the function "
                             f"returns {leaves} outputs")
        return list(out_axes)
    return [out_axes] * leaves


# ----- the reference: sample by sample ------------------------------------------------------------
def _loop(f: Callable, moved: list[Any], flags: list[bool], kwargs: dict, n: int) -> Any:
    outs = []
    for i in range(n):
        args = [_sample(a, i) if b else a for a, b in zip(moved, flags, strict=True)]
        outs.append(f(*args, **kwargs))
    if n == 0:
        raise ValueError("vmap: the batch is empty (size 0 along the mapped axes)")
    tree = outs[0]
    per_leaf = list(zip(*[_leaves(o) for o in outs], strict=True))
    stacked = []
    for vals in per_leaf:
        ts = [v if isinstance(v, Tensor) else Tensor._from_op(np.asarray(v), None) for v in vals]
        stacked.append(shape.stack(ts))
    return _rebuild(tree, iter(stacked))


# ----- tracing and the batched replay -------------------------------------------------------------
#: Tensor methods that hand a value to Python, where f may branch on it (a graph the two
#: traced samples could share by chance while other samples take another branch)
_VALUE_READERS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")


@contextlib.contextmanager
def _python_reads() -> Iterator[list[str]]:
    """Note every value read of a tensor made while f runs (the list is filled as it reads)."""
    start = Tensor._from_op(np.empty(0), None)._seq
    reads: list[str] = []
    saved = {name: Tensor.__dict__[name] for name in _VALUE_READERS if name in Tensor.__dict__}

    def noting(name: str, orig: Callable) -> Callable:
        @functools.wraps(orig)
        def read(self: Tensor, *a: Any, **k: Any) -> Any:
            if self._seq > start or self.requires_grad:
                reads.append(f"Tensor.{name}")
            return orig(self, *a, **k)
        return read

    for name, orig in saved.items():
        setattr(Tensor, name, noting(name, orig))
    try:
        yield reads
    finally:
        for name, orig in saved.items():
            setattr(Tensor, name, orig)


class _Trace:
    """f (or grad's inner function) called on sample ``index``: its output tree and graph."""

    def __init__(self, f: Callable, moved: list[Any], flags: list[bool], kwargs: dict, index: int,
                 shared: dict[int, Tensor]) -> None:
        self.inputs: dict[int, int] = {}        # id(sample tensor) -> argument position
        self.data_inputs: dict[int, int] = {}   # id(its array) -> argument position
        args = []
        for k, (a, b) in enumerate(zip(moved, flags, strict=True)):
            if k in shared:
                args.append(shared[k])
            elif b:
                t = _sample(a, index)
                if t.dtype.kind == "f":
                    t.requires_grad_()          # so that every op on it is recorded
                self.inputs[id(t)] = k
                self.data_inputs[id(t.data)] = k
                args.append(t)
            else:
                args.append(a)
        self.args = args
        self.compares: dict[int, tuple] = {}  # comparison results (masks) made by f
        COMPARE_TRACERS.append(self.compares)
        try:
            with _grad_mode(True), _python_reads() as reads:
                self.out = f(*args, **kwargs)
        finally:
            COMPARE_TRACERS.remove(self.compares)
        if reads:  # an if, .item(), float() … on a value: the graph may depend on the sample
            raise _Fallback(f"f reads a value in Python ({reads[0]})")
        # an op may wrap a mask's array in a Tensor of its own (where's condition): by array too
        self.compare_data = {id(v[0]._d): k for k, v in self.compares.items()}
        self.outs = _leaves(self.out)
        roots = [x for x in self.outs if isinstance(x, Tensor)]
        seen: dict[int, Tensor] = {}
        stack = list(roots)
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen[id(t)] = t
            if t._op is not None:
                stack.extend(autodiff.inputs_of(t))
            elif self._cmp(t) is not None:
                stack.extend(x for x in self._cmp(t)[2:] if isinstance(x, Tensor))
        self.order = sorted(seen.values(), key=lambda t: t._seq)

    def role(self, t: Tensor) -> Any:
        """('in', position) for an input sample, ('op',) for a node, ('cmp',) for a comparison
        made by f (a mask), ('const',) otherwise."""
        if id(t) in self.inputs:
            return ("in", self.inputs[id(t)])
        if t._op is None and id(t._d) in self.data_inputs:
            return ("in", self.data_inputs[id(t._d)])
        if t._op is None and self._cmp(t) is not None:
            return ("cmp",)
        return ("op",) if t._op is not None else ("const",)

    def _cmp(self, t: Tensor) -> tuple | None:
        """(result, ufunc, a, b) when t is, or wraps the array of, a comparison made by f."""
        if id(t) in self.compares:
            return self.compares[id(t)]
        k = self.compare_data.get(id(t._d))
        return None if k is None else self.compares[k]

    def operands(self, t: Tensor) -> list[Any]:
        """The inputs of a node, or the two operands of a comparison."""
        if t._op is not None:
            return list(autodiff.inputs_of(t))
        return list(self._cmp(t)[2:])


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            return False
        return a is b or (a.shape == b.shape and a.dtype == b.dtype
                          and np.array_equal(a.data, b.data, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(
            _equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a)
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


def _same_graph(t0: _Trace, t1: _Trace) -> None:
    """Raise _Fallback unless the two traces record the same ops on the same constants."""
    if len(t0.order) != len(t1.order) or len(t0.outs) != len(t1.outs):
        raise _Fallback("the graphs differ between samples")
    pos0 = {id(t): k for k, t in enumerate(t0.order)}
    pos1 = {id(t): k for k, t in enumerate(t1.order)}
    for a, b in zip(t0.order, t1.order, strict=True):
        ra, rb = t0.role(a), t1.role(b)
        if ra != rb:
            raise _Fallback("an input is used differently between samples")
        if ra == ("const",) and not _equal(a, b):
            raise _Fallback("a constant of the graph depends on the sample")
        if ra == ("op",) and (a._op is not b._op or not _equal(a._attrs, b._attrs)):
            raise _Fallback("the ops differ between samples")
        if ra == ("cmp",) and t0._cmp(a)[1] is not t1._cmp(b)[1]:
            raise _Fallback("the comparisons differ between samples")
        if ra in (("op",), ("cmp",)):
            ia = [pos0[id(x)] if isinstance(x, Tensor) else ("v", x) for x in t0.operands(a)]
            ib = [pos1[id(x)] if isinstance(x, Tensor) else ("v", x) for x in t1.operands(b)]
            if not _equal(ia, ib):
                raise _Fallback("the graph's wiring differs between samples")
    for a, b in zip(t0.outs, t1.outs, strict=True):
        if isinstance(a, Tensor) != isinstance(b, Tensor):
            raise _Fallback("the outputs differ between samples")
        if isinstance(a, Tensor):
            if id(a) not in pos0 or pos0[id(a)] != pos1.get(id(b)):
                raise _Fallback("the outputs differ between samples")
        elif not _equal(a, b):
            raise _Fallback("an output that is not a Tensor depends on the sample")


def _to_batch(x: Tensor, batched: bool, n: int) -> Tensor:
    return x if batched else shape.broadcast_to(x, (n,) + x.shape)


def _per_sample(op: base.Op, ins: list[Tensor], flags: list[bool], attrs: dict,
                n: int) -> Tensor:
    """The op applied sample by sample (recorded indexing and stacking): always right."""
    outs = [base.apply(op, tuple(x[i] if b else x for x, b in zip(ins, flags, strict=True)),
                       attrs) for i in range(n)]
    return shape.stack(outs)


def _elementwise(op: base.Op, ins: list[Tensor], flags: list[bool], attrs: dict,
                 n: int) -> Tensor:
    shapes = [x.shape[1:] if b else x.shape for x, b in zip(ins, flags, strict=True)]
    if len(ins) > 1 and not op.broadcasts and len(set(shapes)) > 1:
        return _per_sample(op, ins, flags, attrs, n)
    full = np.broadcast_shapes(*shapes)
    aligned = []
    for x, b, s in zip(ins, flags, shapes, strict=True):
        if b and len(s) < len(full):
            x = shape.reshape(x, (n,) + (1,) * (len(full) - len(s)) + s)
        aligned.append(x)
    return base.apply(op, tuple(aligned), attrs)


def _bmm(a: Tensor, b: Tensor) -> Tensor:
    return base.apply(linalg.Matmul, (a, b), {})


def _matmul(ins: list[Tensor], flags: list[bool], n: int) -> Tensor:
    (a, b), (fa, fb) = ins, flags
    sa = a.shape[1:] if fa else a.shape
    sb = b.shape[1:] if fb else b.shape
    if fa and fb and len(sa) == 2 and len(sb) == 1:            # (m, k) @ (k,) per sample
        return shape.reshape(_bmm(a, shape.reshape(b, (n,) + sb + (1,))), (n, sa[0]))
    if fa and fb and len(sa) == 1 and len(sb) == 2:            # (k,) @ (k, p) per sample
        return shape.reshape(_bmm(shape.reshape(a, (n, 1) + sa), b), (n, sb[1]))
    if fa and fb and len(sa) == 1 and len(sb) == 1:            # a · b per sample
        out = _bmm(shape.reshape(a, (n, 1) + sa), shape.reshape(b, (n,) + sb + (1,)))
        return shape.reshape(out, (n,))
    if fa and not fb and len(sb) <= 2:
        return base.apply(linalg.Matmul, (a, b), {})
    if fb and not fa and len(sb) == 1 and len(sa) == 1:
        return base.apply(linalg.Matmul, (b, a), {})           # a·b = b·a for vectors
    if fb and not fa and len(sb) == 1 and len(sa) == 2:
        col = shape.reshape(b, (n,) + sb + (1,))
        out = base.apply(linalg.Matmul, (a, col), {})
        return shape.reshape(out, (n, sa[0]))
    if fb and not fa and len(sb) >= 2 and len(sa) <= 2:
        return base.apply(linalg.Matmul, (a, b), {})
    if fa and fb and len(sa) == len(sb) >= 2:
        return base.apply(linalg.Matmul, (a, b), {})
    return _per_sample(linalg.Matmul, ins, flags, {}, n)


def _linear_batched_weights(ins: list[Tensor], flags: list[bool], n: int) -> Tensor:
    """x Wᵀ + b with a weight per sample (per-sample gradients): one batched matmul."""
    x, w, b = (_to_batch(t, f, n) for t, f in zip(ins, flags, strict=True))
    lead, k = x.shape[1:-1], x.shape[-1]
    m = math.prod(lead)
    out = _bmm(shape.reshape(x, (n, m, k)), shape.swapaxes(w, -1, -2))   # (n, m, out)
    out = out + shape.reshape(b, (n, 1, b.shape[-1]))
    return shape.reshape(out, (n,) + lead + (w.shape[1],))


def _cross_entropy(ins: list[Tensor], flags: list[bool], n: int) -> Tensor:
    """Per sample: mean over its rows of −log softmax(logits)[label] (one value per sample)."""
    logits = _to_batch(ins[0], flags[0], n)
    rows = logits.shape[1:-1]
    lab = ins[1].data if flags[1] else np.broadcast_to(ins[1].data, (n,) + ins[1].shape)
    m, c = math.prod(rows), logits.shape[-1]
    lp = shape.reshape(nn.log_softmax(logits, -1), (n * m, c))
    picked = shape.getitem(lp, (np.arange(n * m), np.asarray(lab, np.int64).reshape(-1)))
    return ew.neg(reduce.mean(shape.reshape(picked, (n, m)), -1))


_SAME_ATTRS = {reduce.Sum, reduce.Mean, reduce.Max, reduce.Min, nn.Softmax, nn.LogSoftmax,
               shape.ScatterAdd}


def _batched_op(op: base.Op, ins: list[Tensor], flags: list[bool], attrs: dict,
                n: int) -> Tensor:
    """One node on the batch: its rule with a leading batch axis, or sample by sample."""
    if op.elementwise:
        return _elementwise(op, ins, flags, attrs, n)
    if op in _SAME_ATTRS and flags[0] and not any(flags[1:]):
        return base.apply(op, tuple(ins), attrs)
    if op is shape.Reshape:
        return base.apply(op, tuple(ins), {"shape": (n,) + tuple(attrs["shape"])})
    if op is shape.Transpose:
        return base.apply(op, tuple(ins), {"axes": (0,) + tuple(a + 1 for a in attrs["axes"])})
    if op is shape.BroadcastTo:
        x, s = ins[0], ins[0].shape[1:]
        full = tuple(attrs["shape"])
        x = shape.reshape(x, (n,) + (1,) * (len(full) - len(s)) + s)
        return base.apply(op, (x,), {"shape": (n,) + full})
    if op is shape.GetItem:
        return base.apply(op, tuple(ins), {"index": (slice(None),) + tuple(attrs["index"])})
    if op in (shape.Stack, shape.Concatenate):
        return base.apply(op, tuple(_to_batch(x, b, n) for x, b in zip(ins, flags, strict=True)),
                          attrs)
    if op is linalg.Linear and flags[0] and not any(flags[1:]):
        return base.apply(op, tuple(ins), attrs)
    if op is linalg.Linear:
        return _linear_batched_weights(ins, flags, n)
    if op is linalg.Matmul:
        return _matmul(ins, flags, n)
    if op is nn.CrossEntropy:
        return _cross_entropy(ins, flags, n)
    return _per_sample(op, ins, flags, attrs, n)


def _replay(tr: _Trace, batch: dict[int, Tensor], n: int,
            per_sample: dict[int, Tensor] | None = None) -> tuple[list[Any], list[bool]]:
    """The trace's outputs computed on the whole batch: (output leaves, which are batched).

    ``per_sample`` maps id(leaf) of an unbatched leaf to a batched copy to use instead (the
    parameters of per-sample gradients: one copy per sample, so each loss reaches its own)."""
    env: dict[int, tuple[Any, bool]] = {
        k: (v, True) for k, v in (per_sample or {}).items()}
    with _grad_mode(True):
        for t in tr.order:
            if id(t) in env:
                continue
            role = tr.role(t)
            if role[0] == "in":
                env[id(t)] = (batch[role[1]], True)
                continue
            if role[0] == "const":
                env[id(t)] = (t, False)
                continue
            ins = [env[id(x)] if isinstance(x, Tensor) else (x, False) for x in tr.operands(t)]
            flags = [b for _, b in ins]
            if not any(flags):
                env[id(t)] = (t, False)   # no batched input: the traced node itself
                continue
            if role[0] == "cmp":          # a mask: the comparison again, on the batch
                out = _compare_batch(tr._cmp(t)[1], ins, n)
            else:
                out = _batched_op(t._op, [x for x, _ in ins], flags, dict(t._attrs or {}), n)
            if out.shape[:1] != (n,) or out.shape[1:] != t.shape:
                raise _Fallback(f"op {t._op.name} gave shape {out.shape} on the batch")
            env[id(t)] = (out, True)
    leaves, flags = [], []
    for x in tr.outs:
        v, b = env[id(x)] if isinstance(x, Tensor) else (x, False)
        leaves.append(v)
        flags.append(b)
    return leaves, flags


def _compare_batch(fn: Any, ins: list[tuple[Any, bool]], n: int) -> Tensor:
    """A comparison of batched and unbatched operands, aligned as elementwise ops are."""
    vals = [(x.data if isinstance(x, Tensor) else np.asarray(x), b) for x, b in ins]
    shapes = [v.shape[1:] if b else v.shape for v, b in vals]
    full = np.broadcast_shapes(*shapes)
    aligned = [v.reshape((n,) + (1,) * (len(full) - len(s)) + s) if b else v
               for (v, b), s in zip(vals, shapes, strict=True)]
    return Tensor._from_op(np.asarray(fn(*aligned)), None)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    tol = 1e-9 if a.dtype == np.float64 else 2e-4
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def _other_sample(moved: list[Any], flags: list[bool], n: int) -> int | None:
    """A sample that differs from sample 0 in every batched argument (else the last one)."""
    if n < 2:
        return None
    data = [np.asarray(a.data if isinstance(a, Tensor) else a) for a, b in
            zip(moved, flags, strict=True) if b]
    for j in range(1, n):
        if all(not np.array_equal(d[j], d[0]) for d in data):
            return j
    return n - 1


def _traced_batch(f: Callable, moved: list[Any], flags: list[bool], kwargs: dict, n: int,
                  shared: dict[int, Tensor], batch: dict[int, Tensor],
                  per_sample: dict[int, Tensor] | None = None
                  ) -> tuple[_Trace, list[Any], list[bool]]:
    """Trace f on two samples, check they agree, replay on the batch and check a row."""
    j = _other_sample(moved, flags, n)
    if j is None:
        raise _Fallback("one sample")
    t0 = _Trace(f, moved, flags, kwargs, 0, shared)
    t1 = _Trace(f, moved, flags, kwargs, j, shared)
    _same_graph(t0, t1)
    leaves, bflags = _replay(t0, batch, n, per_sample)
    for v, b, want in zip(leaves, bflags, t1.outs, strict=True):
        if isinstance(v, Tensor) and isinstance(want, Tensor):
            row = v.data[j] if b else v.data
            if not _close(np.asarray(row), np.asarray(want.data)):
                raise _Fallback("the replay disagrees with a traced sample")
    return t0, leaves, bflags


def _batch_tensors(moved: list[Any], flags: list[bool], leaf_args: set[int]) -> dict[int, Tensor]:
    batch = {}
    for k, (a, b) in enumerate(zip(moved, flags, strict=True)):
        if b:
            arr = a.data if isinstance(a, Tensor) else np.asarray(a)
            t = Tensor._from_op(arr, None)
            if k in leaf_args:
                t.requires_grad_()
            batch[k] = t
    return batch


# ----- the transform ------------------------------------------------------------------------------
def _mapped(f: Callable, moved: list[Any], flags: list[bool], kwargs: dict, n: int) -> tuple:
    """(output tree, leaves, batched flags) of f on the batch by trace and replay."""
    batch = _batch_tensors(moved, flags, set())
    t0, leaves, bflags = _traced_batch(f, moved, flags, kwargs, n, {}, batch)
    return t0.out, [v.detach() if isinstance(v, Tensor) else v for v in leaves], bflags


def _mapped_grad(spec: tuple, moved: list[Any], flags: list[bool], kwargs: dict,
                 n: int) -> tuple:
    """Per-sample (value and) gradient of grad's inner function from one batched forward and
    one backward: each unbatched differentiated argument gets one copy per sample in the replay
    (a broadcast view), so that Σ_i L_i reaches sample i's copy only; the gradients of those
    copies, and of the batched arguments, are the per-sample gradients."""
    g, argnums, has_aux, kind = spec
    nums = fn_mod._argnums(argnums, len(moved))
    shared = {k: fn_mod._leaf(moved[k]) for k in nums if not flags[k]}
    copies = {k: Tensor._from_op(np.broadcast_to(p.data, (n,) + p.shape), None).requires_grad_()
              for k, p in shared.items()}
    batch = _batch_tensors(moved, flags, set(nums))
    t0, leaves, bflags = _traced_batch(g, moved, flags, kwargs, n, shared, batch,
                                       {id(shared[k]): c for k, c in copies.items()})
    loss, lb = leaves[0], bflags[0]
    if not isinstance(loss, Tensor) or not lb or loss.shape != (n,):
        raise _Fallback("the per-sample value is not a batched scalar")
    targets = [copies[k] if k in copies else batch[k] for k in nums]
    grads: list[Any] = [None] * len(nums)
    live = [i for i, t in enumerate(targets) if loss.requires_grad]
    if live:
        with _grad_mode(False):
            gs = autodiff.grad(loss, [targets[i] for i in live], np.ones(n, loss.dtype))
        for i, gv in zip(live, gs, strict=True):
            grads[i] = gv
    for i, t in enumerate(targets):
        if grads[i] is None:
            grads[i] = Tensor._from_op(np.zeros(t.shape, t.dtype), None)
    grad_out: Any = grads[0] if isinstance(argnums, int) else tuple(grads)
    aux_leaves = [v.detach() if isinstance(v, Tensor) else v for v in leaves[1:]]
    aux = _rebuild(t0.out[1], iter(aux_leaves)) if has_aux else None
    value = loss.detach()
    if kind == "grad":
        tree = (grad_out, aux) if has_aux else grad_out
    else:
        tree = ((value, aux), grad_out) if has_aux else (value, grad_out)
    out_leaves = _leaves(tree)
    batched = [True] * len(out_leaves)
    if has_aux:  # an aux output that does not depend on the batch stays unbatched
        aux_flags = iter(bflags[1:])
        batched = [next(aux_flags) if _is_in(x, aux_leaves) else True for x in out_leaves]
    return tree, out_leaves, batched


def _is_in(x: Any, items: list[Any]) -> bool:
    return any(x is y for y in items)


def vmap(f: Callable, in_axes: Axes = 0, out_axes: Axes = 0) -> Callable:
    """f ↦ the map of f over a batch axis: vmap(f)(x)[i] = f(x[i]) (JAX's ``vmap``).

    ``in_axes``: for each positional argument the axis to map over, or None to pass it whole
    (one int or None applies to all; keyword arguments are passed whole); ``out_axes``: where
    the batch axis goes in each output (an int, None for an output that does not depend on the
    batch, or one entry per output leaf).
    Per-sample gradients: ``vmap(grad(loss), in_axes=(None, 0, 0))(params, x, y)``.
    """
    if not callable(f):
        raise TypeError(f"vmap: expected a function, got {type(f).__name__}")
    _check_axis_spec(in_axes, "in_axes")
    _check_axis_spec(out_axes, "out_axes")
    spec = fn_mod.GRAD_SPECS.get(f)

    @functools.wraps(f)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        axes = _arg_axes(in_axes, args)
        moved, flags, n = _batch_args(args, axes)
        if n == 0:
            raise ValueError("vmap: the batch is empty (size 0 along the mapped axes)")
        nested = fn_mod._DEPTH[0] > 0 or any(
            isinstance(a, Tensor) and a.requires_grad for a in args)
        result = None
        if not nested:
            try:
                result = (_mapped_grad(spec, moved, flags, kwargs, n) if spec is not None
                          else _mapped(f, moved, flags, kwargs, n))
            except _Fallback:
                result = None
        if result is None:
            tree = _loop(f, moved, flags, kwargs, n)
            leaves = _leaves(tree)
            batched = [True] * len(leaves)
        else:
            tree, leaves, batched = result
        oax = _out_axes(out_axes, len(leaves))
        placed = [_place(v, a, n, b, nested) for v, a, b in
                  zip(leaves, oax, batched, strict=True)]
        return _rebuild(tree, iter(placed))

    return mapped
