"""The ONE table from dagrad's ops to ONNX operators (or a refusal that says why).

``TABLE[op.name]`` is an emitter ``emit(b, ins, out, attrs) -> V`` (b: the
:class:`~.builder.Builder`, ins: the input values, out: the traced output's shape and dtype,
attrs: the op's attributes) or a :class:`Refused`.  ``tests/test_onnx_export.py`` walks
``dagrad.ops.OPS`` and fails on an op that is in neither.  Ops that ONNX Runtime's CPU provider
lacks a float64 kernel for (Softplus) or that ONNX has no operator for (log1p, expm1) are written
as decompositions into operators it has; ``COMPARISONS`` maps the recorded comparisons (the
conditions of ``dg.where``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ops.elementwise import SOFTPLUS_THRESHOLD
from .builder import Builder, ExportError, V

__all__ = ["TABLE", "COMPARISONS", "Refused", "Out"]

_I64_MAX = np.iinfo(np.int64).max
_I64_MIN = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Refused:
    """An op export refuses, and why."""

    why: str


@dataclass(frozen=True)
class Out:
    """The traced output of a step: its shape and dtype."""

    shape: tuple[int, ...]
    dtype: np.dtype


# ----- how the batch axis moves --------------------------------------------------------------
def _aligned(ins: list[V], out: Out, b: Builder | None = None,
             op: str = "") -> tuple[int | None, bool]:
    """Broadcasting: an input's batch axis k lands at k + (out.ndim − in.ndim).

    With a dynamic batch, a value without the batch axis that spans it at the example's batch
    size (a constant made inside fn from the batch's shape, a random mask) is refused: it would
    not follow another batch size.
    """
    batch = None
    for v in ins:
        if v.batch is not None and v.ndim and batch is None:
            batch = v.batch + len(out.shape) - v.ndim
    if batch is not None and b is not None and b.dynamic and b.batch_size not in (None, 1):
        for v in ins:
            k = batch - (len(out.shape) - v.ndim)
            if v.batch is None and not v.loose and 0 <= k < v.ndim and \
                    v.shape[k] == b.batch_size:
                raise ExportError(
                    f"dg.onnx.export: op '{op}' meets the batch axis with a value of shape "
                    f"{v.shape} made inside fn at the example's batch size {b.batch_size} (a "
                    "constant or random tensor built from the input's shape); it would not "
                    "follow another batch size: compute it from the input with dagrad ops, or "
                    "export with dynamic_batch=False")
    return batch, any(v.loose for v in ins)


def _elementwise(fn: Callable[[Builder, list[str], Out, dict], str], op: str) -> Callable:
    """An elementwise emitter: inputs cast to the output dtype, the batch axis aligned."""

    def emit(b: Builder, ins: list[V], out: Out, attrs: dict[str, Any]) -> V:
        names = [b.cast(v, out.dtype) for v in ins]
        batch, loose = _aligned(ins, out, b, op)
        return V(fn(b, names, out, attrs), out.shape, out.dtype, batch, loose)

    return emit


def _simple(op_type: str, op: str) -> Callable:
    return _elementwise(lambda b, n, out, attrs: b.node(op_type, n), op)


def _c(b: Builder, value: float, out: Out) -> str:
    return b.const(value, out.dtype)


# ----- decompositions ------------------------------------------------------------------------
def log1p_of(b: Builder, x: str, out: Out) -> str:
    """ln(1 + x) accurately for small x: u = 1 + x; x where u == 1, else ln(u)·x / (u − 1)."""
    one = _c(b, 1.0, out)
    u = b.node("Add", [x, one])
    um1 = b.node("Sub", [u, one])
    ratio = b.node("Div", [b.node("Mul", [b.node("Log", [u]), x]), um1])
    return b.node("Where", [b.node("Equal", [u, one]), x, ratio])


def _expm1(b: Builder, n: list[str], out: Out, attrs: dict) -> str:
    """e^x − 1: exp(x) − 1 for |x| ≥ t, the Taylor series to x⁶/6! below (t by dtype)."""
    x = n[0]
    t = 0.1 if np.dtype(out.dtype).itemsize <= 4 else 1e-3
    series = _c(b, 1.0, out)
    for k in (6, 5, 4, 3, 2):              # 1 + x/2 (1 + x/3 (1 + … (1 + x/6)))
        series = b.node("Add", [_c(b, 1.0, out),
                                b.node("Mul", [b.node("Div", [x, _c(b, float(k), out)]),
                                               series])])
    series = b.node("Mul", [x, series])
    direct = b.node("Sub", [b.node("Exp", [x]), _c(b, 1.0, out)])
    small = b.node("Less", [b.node("Abs", [x]), _c(b, t, out)])
    return b.node("Where", [small, series, direct])


def _softplus(b: Builder, n: list[str], out: Out, attrs: dict) -> str:
    """ln(1 + e^−|x|) + max(x, 0), and x above the threshold (ONNX Runtime's CPU provider has
    no float64 Softplus kernel, and the stable form matches dagrad's forward)."""
    x = n[0]
    e = b.node("Exp", [b.node("Neg", [b.node("Abs", [x])])])
    stable = b.node("Add", [log1p_of(b, e, out), b.node("Relu", [x])])
    above = b.node("Greater", [x, _c(b, SOFTPLUS_THRESHOLD, out)])
    return b.node("Where", [above, x, stable])


def _leaky_relu(b: Builder, n: list[str], out: Out, attrs: dict) -> str:
    x = n[0]
    return b.node("Where", [b.node("Greater", [x, _c(b, 0.0, out)]), x,
                            b.node("Mul", [x, _c(b, attrs["slope"], out)])])


def _powi(b: Builder, n: list[str], out: Out, attrs: dict) -> str:
    k = int(attrs["n"])
    if k == 1:
        return b.node("Identity", n)
    if k == 2:
        return b.node("Mul", [n[0], n[0]])
    return b.node("Pow", [n[0], _c(b, float(k), out)])


def _clamp(b: Builder, n: list[str], out: Out, attrs: dict) -> str:
    x = n[0]
    if attrs.get("min") is not None:
        x = b.node("Max", [x, _c(b, attrs["min"], out)])
    if attrs.get("max") is not None:
        x = b.node("Min", [x, _c(b, attrs["max"], out)])
    return x


def _where(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    cond = b.cast(ins[0], np.bool_)
    names = [cond] + [b.cast(v, out.dtype) for v in ins[1:]]
    batch, loose = _aligned(ins, out, b, "where")
    return V(b.node("Where", names), out.shape, out.dtype, batch, loose)


def _cast(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    v = ins[0]
    return V(b.cast(v, out.dtype), out.shape, out.dtype, v.batch, v.loose)


# ----- tensor ops ----------------------------------------------------------------------------
def _matmul(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    a, w = ins
    nd = len(out.shape)
    batch = None
    if a.batch is not None and a.ndim >= 2 and a.batch != a.ndim - 1:
        batch = a.batch + nd - a.ndim if a.batch < a.ndim - 2 else (
            nd - 2 if w.ndim >= 2 else nd - 1)
    elif w.batch is not None and w.ndim >= 2 and w.batch != w.ndim - 2:
        batch = w.batch + nd - w.ndim if w.batch < w.ndim - 2 else nd - 1
    names = [b.cast(v, out.dtype) for v in ins]
    return V(b.node("MatMul", names), out.shape, out.dtype, batch, a.loose or w.loose)


def _linear(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    x, w, bias = ins
    names = [b.cast(v, out.dtype) for v in ins]
    batch = x.batch if x.batch is not None and x.batch != x.ndim - 1 else None
    if x.ndim == 2:
        y = b.node("Gemm", names, "linear", transB=1)
    else:
        y = b.node("Add", [b.node("MatMul", [names[0], b.node("Transpose", [names[1]])]),
                           names[2]], "linear")
    return V(y, out.shape, out.dtype, batch, x.loose or w.loose or bias.loose)


def _softmax_like(op_type: str) -> Callable:
    def emit(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
        x = ins[0]
        return V(b.node(op_type, [x.name], axis=int(attrs["axis"])), out.shape, out.dtype,
                 x.batch, x.loose)

    return emit


def _cross_entropy(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    """mean(−log_softmax(logits)[labels]): LogSoftmax, GatherElements, ReduceMean, Neg."""
    logits, labels = ins
    lsm = b.node("LogSoftmax", [logits.name], axis=-1)
    idx = b.node("Unsqueeze", [b.cast(labels, np.int64), b.ints([-1])])
    picked = b.node("GatherElements", [lsm, idx], axis=-1)
    loss = b.node("Neg", [b.reduce("ReduceMean", picked, None, False)], "cross_entropy")
    return V(loss, out.shape, out.dtype, None, False)


def _reduction(op_type: str) -> Callable:
    def emit(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
        x = ins[0]
        axes = tuple(int(a) % x.ndim for a in attrs["axis"]) if x.ndim else ()
        keep = bool(attrs["keepdims"])
        if not axes:
            return V(b.node("Identity", [x.name]), out.shape, out.dtype, x.batch, x.loose)
        y = b.reduce(op_type, x.name, axes, keep)
        batch = None
        if x.batch is not None and x.batch not in axes:
            batch = x.batch if keep else x.batch - sum(1 for a in axes if a < x.batch)
        return V(y, out.shape, out.dtype, batch, x.loose and len(out.shape) > 0)

    return emit


def _reshape(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    x = ins[0]
    shape = list(attrs["shape"])
    if x.loose and b.dynamic:
        raise ExportError(f"dg.onnx.export: reshape to {tuple(shape)} of a value whose shape "
                          "depends on the batch size in more than its batch axis; export with "
                          "dynamic_batch=False")
    if x.batch is None or not b.dynamic:
        return V(b.node("Reshape", [x.name, b.ints(shape)]), out.shape, out.dtype, None, False)
    k = x.batch
    if tuple(out.shape[:k + 1]) == tuple(x.shape[:k + 1]):
        spec = [0] * (k + 1) + shape[k + 1:]
        return V(b.node("Reshape", [x.name, b.ints(spec)]), out.shape, out.dtype, k, False)
    if k == 0 and len(shape) >= 1 and x.shape[0] and shape[0] % x.shape[0] == 0 \
            and int(np.prod(shape[1:])) * (shape[0] // x.shape[0]) == int(np.prod(x.shape[1:])):
        spec = [-1] + shape[1:]
        return V(b.node("Reshape", [x.name, b.ints(spec)]), out.shape, out.dtype, None, True)
    raise ExportError(f"dg.onnx.export: reshape from {x.shape} to {tuple(shape)} moves the batch "
                      f"axis {k}; export with dynamic_batch=False")


def _transpose(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    x = ins[0]
    perm = [int(a) for a in attrs["axes"]]
    batch = perm.index(x.batch) if x.batch is not None else None
    return V(b.node("Transpose", [x.name], perm=perm), out.shape, out.dtype, batch, x.loose)


def _broadcast_to(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    x = ins[0]
    shape = list(attrs["shape"])
    batch = None
    if x.loose and b.dynamic:
        raise ExportError(f"dg.onnx.export: broadcast_to {tuple(shape)} of a value whose shape "
                          "depends on the batch size; export with dynamic_batch=False")
    if x.batch is not None and b.dynamic:
        batch = x.batch + len(shape) - x.ndim
        shape[batch] = 1        # Expand broadcasts both ways: 1 keeps the input's batch size
    return V(b.node("Expand", [x.name, b.ints(shape)]), out.shape, out.dtype, batch, False)


def _getitem(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    """Slice (every slice at once), then Gather for ints and an index array, Unsqueeze for
    None, walking the index left to right."""
    x = ins[0]
    index = attrs["index"]
    arrays = [it for it in index if isinstance(it, np.ndarray)]
    if len(arrays) > 1:
        raise ExportError("dg.onnx.export: getitem with several index arrays (paired "
                          "elementwise by NumPy) has no mapping; index with one array at a time")
    starts, ends, axes, steps = [], [], [], []
    axis, loose = 0, x.loose
    batch_item = None
    for it in index:
        if it is None:
            continue
        if axis == x.batch and b.dynamic:
            batch_item = it
        if isinstance(it, slice) and it != slice(None):
            step = 1 if it.step is None else int(it.step)
            starts.append(int(it.start) if it.start is not None else
                          (0 if step > 0 else _I64_MAX))
            ends.append(int(it.stop) if it.stop is not None else
                        (_I64_MAX if step > 0 else _I64_MIN))
            axes.append(axis)
            steps.append(step)
        axis += 1
    if isinstance(batch_item, np.ndarray):
        raise ExportError("dg.onnx.export: getitem with an index array on the batch axis; "
                          "export with dynamic_batch=False")
    if isinstance(batch_item, slice) and batch_item != slice(None):
        loose = True
    y = x.name
    if axes:
        y = b.node("Slice", [y, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    pos, axis, batch = 0, 0, None
    for it in index:
        if it is None:
            y = b.node("Unsqueeze", [y, b.ints([pos])])
            pos += 1
            continue
        if isinstance(it, slice):
            if axis == x.batch and it == slice(None):
                batch = pos
            pos += 1
        elif isinstance(it, np.ndarray):
            y = b.node("Gather", [y, b.const(it.astype(np.int64), np.int64)], axis=pos)
            pos += it.ndim
        else:
            y = b.node("Gather", [y, b.const(np.int64(it), np.int64)], axis=pos)
        axis += 1
    if y == x.name:
        y = b.node("Identity", [y])
    return V(y, out.shape, out.dtype, batch if b.dynamic else None, loose)


def _stack(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    ax = int(attrs["axis"]) % len(out.shape)
    parts = [b.node("Unsqueeze", [b.cast(v, out.dtype), b.ints([ax])]) for v in ins]
    batch = next((v.batch for v in ins if v.batch is not None), None)
    if batch is not None and ax <= batch:
        batch += 1
    return V(b.node("Concat", parts, "stack", axis=ax), out.shape, out.dtype, batch,
             any(v.loose for v in ins))


def _concatenate(b: Builder, ins: list[V], out: Out, attrs: dict) -> V:
    ax = int(attrs["axis"]) % len(out.shape)
    batch = next((v.batch for v in ins if v.batch is not None), None)
    loose = any(v.loose for v in ins)
    if batch is not None and ax == batch:
        batch, loose = None, True
    y = b.node("Concat", [b.cast(v, out.dtype) for v in ins], "concat", axis=ax)
    return V(y, out.shape, out.dtype, batch, loose)


#: dagrad op name → emitter, or Refused(why).  One entry per op of ``dagrad.ops.OPS``.
TABLE: dict[str, Callable | Refused] = {
    "add": _simple("Add", "add"),
    "sub": _simple("Sub", "sub"),
    "mul": _simple("Mul", "mul"),
    "div": _simple("Div", "div"),
    "neg": _simple("Neg", "neg"),
    "powi": _elementwise(_powi, "powi"),
    "pow": _simple("Pow", "pow"),
    "exp": _simple("Exp", "exp"),
    "log": _simple("Log", "log"),
    "sqrt": _simple("Sqrt", "sqrt"),
    "abs": _simple("Abs", "abs"),
    "tanh": _simple("Tanh", "tanh"),
    "sigmoid": _simple("Sigmoid", "sigmoid"),
    "relu": _simple("Relu", "relu"),
    "leaky_relu": _elementwise(_leaky_relu, "leaky_relu"),
    "maximum": _simple("Max", "maximum"),
    "minimum": _simple("Min", "minimum"),
    "where": _where,
    "cast": _cast,
    "sin": _simple("Sin", "sin"),
    "cos": _simple("Cos", "cos"),
    "log1p": _elementwise(lambda b, n, out, attrs: log1p_of(b, n[0], out), "log1p"),
    "expm1": _elementwise(_expm1, "expm1"),
    "softplus": _elementwise(_softplus, "softplus"),
    "square": _elementwise(lambda b, n, out, attrs: b.node("Mul", [n[0], n[0]]), "square"),
    "clamp": _elementwise(_clamp, "clamp"),
    "matmul": _matmul,
    "linear": _linear,
    "softmax": _softmax_like("Softmax"),
    "log_softmax": _softmax_like("LogSoftmax"),
    "cross_entropy": _cross_entropy,
    "sum": _reduction("ReduceSum"),
    "mean": _reduction("ReduceMean"),
    "max": _reduction("ReduceMax"),
    "min": _reduction("ReduceMin"),
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "getitem": _getitem,
    "stack": _stack,
    "concatenate": _concatenate,
    "scatter_add": Refused("it is the adjoint of getitem, made by backward passes; export "
                           "the forward function"),
    "setitem": Refused("item assignment is not exported; compute the value out of place "
                       "(dg.where, dg.concatenate)"),
}

#: recorded comparisons (NumPy ufunc name) → ONNX operator; not_equal is Not(Equal).
COMPARISONS = {"less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
               "greater_equal": "GreaterOrEqual", "equal": "Equal", "not_equal": "Equal"}
