"""Shape ops: reshape, transpose, broadcast_to, getitem (+ its adjoint scatter_add), stack,
concatenate.  They move values around; their derivatives move cotangents back the same way.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from . import rulemath as rm
from .base import Op, Template, apply, as_input

_MOVE = Template("selection / permutation matrix", r"P", "jacobian")


def _batch(t: Any, ndim: int) -> tuple[int, ...]:
    return rm.batch_shape(t, ndim)


# ----- reshape, transpose, broadcast ----------------------------------------------------------
Reshape = Op(
    "reshape", lambda a, shape: a.reshape(shape), symbol="reshape",
    saves=(),
    vjp=(lambda g, a, out, shape: rm.reshape(g, _batch(g, len(shape)) + rm.const(a).shape),),
    jvp=(lambda t, a, out, shape: rm.reshape(t, _batch(t, rm.const(a).ndim) + tuple(shape)),),
    formula=(Template("I (reshaped)", r"I"),), doc="same values, new shape")


def _inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


Transpose = Op(
    "transpose", lambda a, axes: np.transpose(a, axes), symbol="ᵀ",
    saves=(),
    vjp=(lambda g, a, out, axes: rm.transpose(g, _inverse(axes)),),
    jvp=(lambda t, a, out, axes: rm.transpose(t, axes),),
    formula=(_MOVE,), doc="permute axes")

BroadcastTo = Op(
    "broadcast_to", lambda a, shape: np.broadcast_to(a, shape), symbol="broadcast",
    saves=(),
    broadcasts=True,
    vjp=(lambda g, a, out, shape: g,),  # the engine sums g back to a's shape
    jvp=(lambda t, a, out, shape: rm.broadcast_to(t, _batch(t, len(shape)) + tuple(shape)),),
    formula=(Template("1 (copies)", r"\mathbf{1}"),), doc="repeat along size-1 axes")


# ----- indexing -------------------------------------------------------------------------------
def _is_advanced(item: Any) -> bool:
    return isinstance(item, np.ndarray)


def normalize_index(index: Any, shape: tuple[int, ...]) -> tuple:
    """An index as a tuple covering every axis explicitly (no Ellipsis; bool masks as ints)."""
    if not isinstance(index, tuple):
        index = (index,)
    items: list[Any] = []
    for it in index:
        if isinstance(it, Tensor):
            it = it.data
        if isinstance(it, (list, np.ndarray)):
            arr = np.asarray(it)
            if arr.dtype == bool:
                items.extend(np.nonzero(arr))
                continue
            if arr.dtype.kind not in "iu":
                raise IndexError(f"getitem: index arrays must be integers or booleans, "
                                 f"got {arr.dtype}")
            items.append(arr.astype(np.intp, copy=False))
        elif isinstance(it, (bool, np.bool_)):
            raise IndexError("getitem: a bare boolean index is not supported")
        elif isinstance(it, (int, np.integer)):
            items.append(int(it))
        elif it is None or it is Ellipsis or isinstance(it, slice):
            items.append(it)
        else:
            raise IndexError(f"getitem: unsupported index of type {type(it).__name__}")
    consumed = sum(1 for it in items if it is not None and it is not Ellipsis)
    if consumed > len(shape):
        raise IndexError(f"getitem: too many indices ({consumed}) for a tensor of shape {shape}")
    n_ell = sum(1 for it in items if it is Ellipsis)
    if n_ell > 1:
        raise IndexError("getitem: an index can only have a single ellipsis")
    fill = [slice(None)] * (len(shape) - consumed)
    if n_ell:
        k = next(i for i, it in enumerate(items) if it is Ellipsis)
        items[k:k + 1] = fill
    else:
        items.extend(fill)
    adv = [i for i, it in enumerate(items) if _is_advanced(it) or isinstance(it, int)]
    fancy = [i for i, it in enumerate(items) if _is_advanced(it)]
    if fancy and adv and adv[-1] - adv[0] + 1 != len(adv):
        raise IndexError("getitem: advanced indices separated by a slice are not supported "
                         "(NumPy would move their axis to the front); index in two steps")
    return tuple(items)


def _has_fancy(index: tuple) -> bool:
    return any(_is_advanced(it) for it in index)


def scatter_add_forward(g: np.ndarray, index: tuple, shape: tuple[int, ...],
                        result_ndim: int) -> np.ndarray:
    """Zeros of batch + ``shape`` with g added at ``index``; repeated indices accumulate."""
    nb = g.ndim - result_ndim
    z = np.zeros(g.shape[:nb] + tuple(shape), dtype=g.dtype)
    full = (Ellipsis,) + index
    if _has_fancy(index):
        np.add.at(z, full, g)
    else:
        z[full] = g
    return z


GetItem = Op(
    "getitem", lambda a, index: a[index], symbol="[ ]",
    saves=(),
    vjp=(lambda g, a, out, index: rm.scatter_add(g, index, rm.const(a).shape,
                                                 rm.const(out).ndim),),
    jvp=(lambda t, a, out, index: t[(Ellipsis,) + index],),
    formula=(Template("e_index (selection)", r"e_{\mathrm{idx}}^\top"),),
    doc="indexing and slicing; repeated indices accumulate their gradients")

ScatterAdd = Op(
    "scatter_add", scatter_add_forward, symbol="scatter",
    saves=(),
    vjp=(lambda g, a, out, index, shape, result_ndim: g[(Ellipsis,) + index],),
    jvp=(lambda t, a, out, index, shape, result_ndim: rm.scatter_add(t, index, shape,
                                                                     result_ndim),),
    formula=(Template("selection matrixᵀ", r"P^\top"),),
    doc="the adjoint of getitem (used by its derivative)")


def _setitem_forward(a, value, index):
    out = np.array(a, copy=True)
    out[index] = value
    return out


def _target(a, index) -> tuple[int, ...]:
    """The shape of a[index] (from a zero-size view: nothing of a's size is allocated)."""
    return np.broadcast_to(np.empty((), np.bool_), rm.const(a).shape)[index].shape


def _unset_mask(a, index):
    """1 where ``a[index] = value`` keeps a's element, 0 where it overwrites it (a constant)."""
    av = rm.const(a)
    keep = np.ones(av.shape, av.dtype)
    keep[index] = 0
    return keep


SetItem = Op(
    "setitem", _setitem_forward, args=("a", "value"), symbol="[ ]=",
    saves=(),
    vjp=(lambda g, a, value, out, index: g * _unset_mask(a, index),
         lambda g, a, value, out, index: g[(Ellipsis,) + index]),  # the engine sums to value
    jvp=(lambda t, a, value, out, index: t * _unset_mask(a, index),
         lambda t, a, value, out, index: rm.scatter_add(
             rm.broadcast_to(t, _batch(t, rm.const(value).ndim) + _target(a, index)),
             index, rm.const(a).shape, len(_target(a, index)))),
    formula=(Template("1 outside the index, 0 inside", r"\mathbf{1}_{\notin \mathrm{idx}}",
                      "diagonal"),
             Template("e_index (placement)", r"P_{\mathrm{idx}}")),
    doc="a with a[index] = value (item assignment, fill_ and copy_ when recorded)")


def getitem(a: Tensor, index: Any) -> Tensor:
    """a[index] with NumPy semantics (ints, slices, None, ..., int and bool arrays)."""
    idx = normalize_index(index, a.shape)
    return apply(GetItem, (a,), {"index": idx})


def setitem(a: Any, index: Any, value: Any) -> Tensor:
    """a with a[index] replaced by value (broadcast to the indexed shape), out of place."""
    a = as_input(a)
    idx = normalize_index(index, a.shape)
    v = as_input(value, like=a)
    target = _target(a, idx)
    try:
        np.broadcast_shapes(v.shape, target)
    except ValueError:
        raise ValueError(f"setitem: a value of shape {v.shape} cannot be assigned to "
                         f"a[index] of shape {target}") from None
    if np.broadcast_shapes(v.shape, target) != target:
        raise ValueError(f"setitem: a value of shape {v.shape} cannot be assigned to "
                         f"a[index] of shape {target}")
    return apply(SetItem, (a, v), {"index": idx})


def scatter_add(g: Tensor, index: tuple, shape: tuple[int, ...], result_ndim: int) -> Tensor:
    """Zeros of ``shape`` with g added at ``index`` (batch axes of g kept in front)."""
    return apply(ScatterAdd, (g,), {"index": index, "shape": tuple(shape),
                                    "result_ndim": result_ndim})


# ----- stack, concatenate ---------------------------------------------------------------------
def _slot(k: int, axis: int) -> tuple:
    return (Ellipsis, k) + (slice(None),) * (-axis - 1)


def _segment(k: int, axis: int, sizes: tuple[int, ...]) -> tuple:
    start = int(np.sum(sizes[:k]))
    return (Ellipsis, slice(start, start + sizes[k])) + (slice(None),) * (-axis - 1)


Stack = Op(
    "stack", lambda *arrays, axis: np.stack(arrays, axis=axis), symbol="stack", variadic=True,
    saves=(),
    vjp=lambda k, g, *rest, axis: g[_slot(k, axis)],
    jvp=lambda k, t, *rest, axis: rm.scatter_add(
        t, normalize_index(_slot(k, axis), rm.const(rest[-1]).shape),
        rm.const(rest[-1]).shape, rm.const(rest[-1]).ndim - 1),
    formula=None, doc="join along a new axis")

Concatenate = Op(
    "concatenate", lambda *arrays, axis, sizes: np.concatenate(arrays, axis=axis),
    saves=(),
    symbol="concat", variadic=True,
    vjp=lambda k, g, *rest, axis, sizes: g[_segment(k, axis, sizes)],
    jvp=lambda k, t, *rest, axis, sizes: rm.scatter_add(
        t, normalize_index(_segment(k, axis, sizes), rm.const(rest[-1]).shape),
        rm.const(rest[-1]).shape, rm.const(rest[-1]).ndim),
    formula=None, doc="join along an existing axis")


def _inputs(tensors: Sequence[Any], op: str) -> list[Tensor]:
    ts = [as_input(t) for t in tensors]
    if not ts:
        raise ValueError(f"{op}: need at least one tensor")
    return ts


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Stack same-shaped tensors along a new axis."""
    ts = _inputs(tensors, "stack")
    axis = dim if dim is not None else axis
    shapes = {t.shape for t in ts}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in ts]}")
    nd = ts[0].ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"stack: axis {axis} out of range for result of rank {nd}")
    return apply(Stack, tuple(ts), {"axis": axis - nd if axis >= 0 else axis})


def concatenate(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis."""
    ts = _inputs(tensors, "concatenate")
    axis = dim if dim is not None else axis
    nd = ts[0].ndim
    if nd == 0 or not -nd <= axis < nd:
        raise ValueError(f"concatenate: axis {axis} out of range for rank {nd}")
    ax = axis - nd if axis >= 0 else axis
    for t in ts:
        if t.ndim != nd or t.shape[:nd + ax] + t.shape[nd + ax + 1:] != \
                ts[0].shape[:nd + ax] + ts[0].shape[nd + ax + 1:]:
            raise ValueError(f"concatenate: shapes {[t.shape for t in ts]} differ off axis {axis}")
    sizes = tuple(t.shape[ax] for t in ts)
    return apply(Concatenate, tuple(ts), {"axis": ax, "sizes": sizes})


def _resolve_shape(old: tuple[int, ...], size: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    unknown = [i for i, n in enumerate(shape) if n == -1]
    known = 1
    for n in shape:
        if n != -1:
            known *= n
    ok = len(unknown) <= 1 and all(n >= -1 for n in shape)
    if ok and unknown:
        ok = known > 0 and size % known == 0
        shape = shape[:unknown[0]] + (size // known if ok else 0,) + shape[unknown[0] + 1:]
    if not ok or (not unknown and known != size):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {old} ({size} elements) "
                         f"into {shape}")
    return shape


def reshape(a: Any, shape: Any) -> Tensor:
    """Same values in a new shape (one entry may be −1)."""
    a = as_input(a)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    new = _resolve_shape(a.shape, a.numel(), shape)
    if new == a.shape:
        return a
    return apply(Reshape, (a,), {"shape": new})


def transpose(a: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (reverse order by default)."""
    a = as_input(a)
    nd = a.ndim
    if axes is None:
        axes = tuple(range(nd - 1, -1, -1))
    axes = tuple(int(ax) % nd if nd else 0 for ax in axes)
    if sorted(axes) != list(range(nd)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {nd} axes")
    if axes == tuple(range(nd)):
        return a
    return apply(Transpose, (a,), {"axes": axes})


def swapaxes(a: Any, i: int, j: int) -> Tensor:
    """Swap axes i and j."""
    a = as_input(a)
    perm = list(range(a.ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def broadcast_to(a: Any, shape: Sequence[int]) -> Tensor:
    """Broadcast to ``shape`` (NumPy rules)."""
    a = as_input(a)
    shape = tuple(int(s) for s in shape)
    if a.shape == shape:
        return a
    try:
        np.broadcast_shapes(a.shape, shape)
        if np.broadcast_shapes(a.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {a.shape} to {shape}") from None
    return apply(BroadcastTo, (a,), {"shape": shape})


def expand_dims(a: Any, axis: int) -> Tensor:
    """Insert a size-1 axis at ``axis``."""
    a = as_input(a)
    return reshape(a, np.expand_dims(np.empty(a.shape, np.bool_), axis).shape)


def unsqueeze(a: Any, dim: int) -> Tensor:
    """A size-1 axis inserted at ``dim``, −ndim−1 ≤ dim ≤ ndim (as torch.unsqueeze)."""
    a = as_input(a)
    nd = a.ndim + 1
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -nd <= dim < nd:
        raise IndexError(f"unsqueeze: dim {dim!r} is out of range for a tensor of shape "
                         f"{a.shape} (expected an int in [{-nd}, {nd - 1}])")
    d = int(dim) % nd
    return reshape(a, a.shape[:d] + (1,) + a.shape[d:])


def _dims(dim: Any, ndim: int, what: str) -> tuple[int, ...]:
    """``dim`` (an int or a tuple of ints) as axes in [0, ndim); a 0-d tensor takes 0 and −1."""
    dims = (dim,) if not isinstance(dim, (tuple, list)) else tuple(dim)
    span = builtins.max(ndim, 1)
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not -span <= d < span:
            raise IndexError(f"{what}: dim {d!r} is out of range for a tensor of rank {ndim} "
                             f"(expected an int in [{-span}, {span - 1}])")
        out.append(int(d) % span)
    return tuple(out)


def squeeze(a: Any, axis: int | None = None, *, dim: Any = None) -> Tensor:
    """Remove size-1 axes: all, or NumPy's ``axis`` (which must have size 1), or PyTorch's
    ``dim`` (an int or tuple; axes of other sizes are left as they are)."""
    a = as_input(a)
    if dim is not None:
        if axis is not None:
            raise TypeError("squeeze: give dim (PyTorch) or axis (NumPy), not both")
        drop = {d for d in _dims(dim, a.ndim, "squeeze") if a.ndim and a.shape[d] == 1}
        return reshape(a, tuple(n for k, n in enumerate(a.shape) if k not in drop))
    return reshape(a, np.squeeze(np.empty(a.shape, np.bool_), axis).shape)


def flatten(a: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Axes start_dim … end_dim merged into one (as torch.flatten; a 0-d tensor gives (1,))."""
    a = as_input(a)
    if a.ndim == 0:
        _dims((start_dim, end_dim), 0, "flatten")
        return reshape(a, (1,))
    s, e = _dims((start_dim, end_dim), a.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"for a tensor of shape {a.shape}")
    return reshape(a, a.shape[:s] + (math.prod(a.shape[s:e + 1]),) + a.shape[e + 1:])


rm.REGISTERED.update(swapaxes=swapaxes, transpose=transpose, broadcast_to=broadcast_to,
                     scatter_add=scatter_add, scatter_add_forward=scatter_add_forward)
