"""Transforms with JAX's names: grad, value_and_grad, vjp, jvp, jacobian, hessian, gradcheck.

Each takes a plain function of Tensors (or arrays) and returns a function.  They compose:
inside a transform every derivative is recorded (``create_graph``), so ``grad(grad(f))`` and
``jacobian(grad(f))`` work.  ``jacobian`` pushes all basis vectors through *one* batched pass
(reverse: one backward with a stacked cotangent; forward: one tangent sweep) — or, for a large
Jacobian, a few passes over chunks of them written into one preallocated result, so that the
dense limit bounds the peak memory and not only the result.
``hessian`` is forward-over-reverse: ``jacobian(grad(f), mode="forward")``.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import autodiff
from .limits import check_dense, chunk_rows
from .tensor import STATE, Tensor, _grad_mode

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "gradcheck",
           "GradcheckError"]

_DEPTH = [0]
#: The functions grad and value_and_grad return, with what they differentiate:
#: {wrapper: (f, argnums, has_aux, "grad" | "value_and_grad")}; dg.vmap reads it to map a
#: gradient over a batch with batched cotangents instead of one backward per sample.
GRAD_SPECS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextmanager
def _transform_scope():
    _DEPTH[0] += 1
    try:
        with _grad_mode(True):
            yield
    finally:
        _DEPTH[0] -= 1


def _leaf(x: Any) -> Tensor:
    """A differentiable input: Tensors already in a graph stay (nesting), others become leaves."""
    if isinstance(x, Tensor):
        if x.requires_grad:
            return x
        if x.dtype.kind != "f":
            raise TypeError(f"cannot differentiate with respect to an input of dtype {x.dtype}")
        return Tensor._from_op(x.data, None).requires_grad_()
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        raise TypeError(f"cannot differentiate with respect to an integer/bool input "
                        f"({arr.dtype}); pass floats")
    if not isinstance(x, np.ndarray) and arr.dtype == np.float64:
        arr = arr.astype(STATE.default_dtype)
    return Tensor(arr, requires_grad=True)


def _nested(args: Sequence[Any]) -> bool:
    return _DEPTH[0] > 0 or any(isinstance(a, Tensor) and a.requires_grad for a in args)


def _argnums(argnums: int | Sequence[int], n: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for k in nums:
        if not -n <= k < n:
            raise ValueError(f"argnums {k} out of range for a function called with {n} "
                             "positional arguments")
    return tuple(k % n for k in nums)


def _call(f: Callable, args: Sequence[Any], nums: tuple[int, ...]) -> tuple[list, Any]:
    args = list(args)
    for k in nums:
        args[k] = _leaf(args[k])
    with _transform_scope():
        out = f(*args)
    return args, out


def _as_out(out: Any, what: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}: the function must return a dagrad Tensor, got "
                        f"{type(out).__name__} (did it compute with NumPy instead of dagrad?)")
    return out


def _scalar(out: Any, what: str) -> Tensor:
    out = _as_out(out, what)
    if out.data.size != 1:
        raise ValueError(f"{what}: the function must return a scalar, got shape {out.shape}; "
                         "use dg.jacobian for vector outputs")
    return out


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable:
    """f ↦ (x ↦ (f(x), ∇f(x))); argnums an int or a tuple (then a tuple of gradients)."""

    @functools.wraps(f)
    def wrapped(*args):
        nums = _argnums(argnums, len(args))
        nested = _nested(args)
        args, res = _call(f, args, nums)
        out, aux = (res if has_aux else (res, None))
        out = _scalar(out, "grad")
        if not out.requires_grad:
            gs = tuple(Tensor._from_op(np.zeros(args[k].shape, args[k].dtype), None)
                       for k in nums)
        else:
            with _transform_scope() if nested else _grad_mode(STATE.grad_enabled):
                gs = autodiff.grad(out, [args[k] for k in nums], create_graph=nested)
        g = gs[0] if isinstance(argnums, int) else gs
        if not nested:
            out = out.detach()
        return ((out, aux), g) if has_aux else (out, g)

    GRAD_SPECS[wrapped] = (f, argnums, has_aux, "value_and_grad")
    return wrapped


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """f ↦ ∇f: the gradient of a scalar function w.r.t. the arguments ``argnums``."""
    vg = value_and_grad(f, argnums, has_aux)
    if not has_aux:
        @functools.wraps(f)
        def plain(*args):
            return vg(*args)[1]

        GRAD_SPECS[plain] = (f, argnums, has_aux, "grad")
        return plain

    @functools.wraps(f)
    def with_aux(*args):
        (_, aux), g = vg(*args)
        return g, aux

    GRAD_SPECS[with_aux] = (f, argnums, has_aux, "grad")
    return with_aux


def vjp(f: Callable, *primals: Any) -> tuple[Tensor, Callable]:
    """(f(x), v ↦ vᵀ J_f(x)): reverse mode; the pullback returns one cotangent per primal."""
    nested = _nested(primals)
    nums = tuple(range(len(primals)))
    args, out = _call(f, primals, nums)
    out = _as_out(out, "vjp")

    def pullback(v: Any) -> tuple[Tensor, ...]:
        if not out.requires_grad:
            return tuple(Tensor._from_op(np.zeros(np.shape(np.asarray(v))[:np.ndim(v) - out.ndim]
                                                  + a.shape, a.dtype), None) for a in args)
        cg = nested or (isinstance(v, Tensor) and v.requires_grad)
        with _transform_scope() if cg else _grad_mode(False):
            return autodiff.grad(out, args, v, retain_graph=True, create_graph=cg)

    return (out if nested else out.detach()), pullback


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Tensor, Tensor]:
    """(f(x), J_f(x) v): forward mode through the op table's jvp rules."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    nested = _nested(primals) or any(isinstance(t, Tensor) and t.requires_grad for t in tangents)
    args, out = _call(f, primals, tuple(range(len(primals))))
    out = _as_out(out, "jvp")
    tans = []
    for a, t in zip(args, tangents, strict=True):
        tv = t if (nested and isinstance(t, Tensor)) else np.asarray(
            t.data if isinstance(t, Tensor) else t, dtype=a.dtype)
        if tuple(tv.shape) != a.shape:
            raise ValueError(f"jvp: tangent of shape {tuple(tv.shape)} for a primal of shape "
                             f"{a.shape}")
        tans.append(tv)
    with _transform_scope() if nested else _grad_mode(False):
        (t_out,) = autodiff.forward_tangents([out], args, tans, create_graph=nested)
    if not isinstance(t_out, Tensor):
        t_out = Tensor._from_op(np.asarray(t_out), None)
    return (out if nested else out.detach()), t_out


def _basis(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    n = math.prod(shape)
    return np.eye(n, dtype=dtype).reshape((n,) + tuple(shape))


def _basis_rows(start: int, count: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Basis vectors e_start … e_(start+count-1) of a space of ``shape``, stacked."""
    n = math.prod(shape)
    rows = np.zeros((count, n), dtype)
    rows[np.arange(count), start + np.arange(count)] = 1
    return rows.reshape((count,) + tuple(shape))


def _graph_elements(out: Tensor, ins: Sequence[Tensor]) -> int:
    """How many numbers the part of out's graph between ``ins`` and out holds: the nodes a
    cotangent (or tangent) of this Jacobian passes — not the parameters and other branches the
    sweep skips (autodiff prunes to the nodes that depend on a target)."""
    nodes = autodiff._graph_nodes([out])
    dep = autodiff._depends_on(nodes, {id(x) for x in ins})
    return sum(t.data.size for t in nodes if id(t) in dep)


def _chunk(count: int, per_vector: int, itemsize: int, result_bytes: int, out: Tensor,
           ins: Sequence[Tensor]) -> int:
    """Basis vectors per pass, so that the result plus one pass's working memory fit the limit.

    Per basis vector a pass holds its own rows (``per_vector`` numbers) and, at most, one
    cotangent or tangent per node between ``ins`` and out plus as much again in the rules'
    temporaries.
    """
    if count <= 1:
        return count
    row = itemsize * (per_vector + 2 * _graph_elements(out, ins))
    return chunk_rows(count, row, result_bytes, "jacobian")


def _dense_reverse(out: Tensor, ins: list[Tensor], result_bytes: int) -> list[np.ndarray]:
    """J_k = ∂out/∂ins[k], written chunk by chunk of output rows (one backward per chunk)."""
    m = out.data.size
    per_row = m + sum(x.data.size for x in ins)  # the cotangent row and the gradient rows
    step = _chunk(m, per_row, out.dtype.itemsize, result_bytes, out, ins)
    jac: list[Any] = [None] * len(ins)
    for start in range(0, m, step):
        k = min(step, m - start)
        gs = autodiff.grad(out, ins, _basis_rows(start, k, out.shape, out.dtype),
                           retain_graph=True)
        for j, (g, x) in enumerate(zip(gs, ins, strict=True)):
            g = np.asarray(g.data).reshape(k, x.data.size)
            if k == m:  # one pass: the gradients are the Jacobian
                jac[j] = g
                continue
            if jac[j] is None:
                jac[j] = np.empty((m, x.data.size), g.dtype)
            jac[j][start:start + k] = g
        del gs
    return [j.reshape(out.shape + x.shape) for j, x in zip(jac, ins, strict=True)]


def _dense_forward(out: Tensor, x: Tensor, result_bytes: int) -> np.ndarray:
    """∂out/∂x written chunk by chunk of input columns (one tangent sweep per chunk)."""
    n, m = x.data.size, out.data.size
    step = _chunk(n, n + m, max(x.dtype.itemsize, out.dtype.itemsize), result_bytes, out, [x])
    jac = None
    for start in range(0, n, step):
        k = min(step, n - start)
        (t,) = autodiff.forward_tangents([out], [x], [_basis_rows(start, k, x.shape, x.dtype)])
        t = np.asarray(t).reshape(k, m)
        if k == n:  # one pass: the tangents are the Jacobian, transposed
            return t.T.reshape(out.shape + x.shape)
        if jac is None:
            jac = np.empty((m, n), t.dtype)
        jac[:, start:start + k] = t.T
        del t
    return jac.reshape(out.shape + x.shape)


def jacobian(f: Callable, argnums: int | Sequence[int] = 0, mode: str = "reverse") -> Callable:
    """f ↦ J_f with shape out.shape + in.shape, from batched reverse or forward passes.

    All basis vectors go through one pass when they fit; a large Jacobian is written into its
    preallocated result in chunks of basis vectors, so that the result plus one chunk's working
    memory stays within the dense limit (:func:`dagrad.set_dense_limit`).  Inside another
    transform (recorded derivatives) it is one pass.
    """
    if mode not in ("reverse", "forward", "rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    forward = mode in ("forward", "fwd")

    @functools.wraps(f)
    def wrapped(*args):
        nums = _argnums(argnums, len(args))
        nested = _nested(args)
        args, out = _call(f, args, nums)
        out = _as_out(out, "jacobian")
        ins = [args[k] for k in nums]
        for x in ins:
            check_dense(out.shape + x.shape, out.dtype, "jacobian")
        sizes = [out.data.size * x.data.size * out.dtype.itemsize for x in ins]
        scope = _transform_scope() if nested else _grad_mode(False)
        with scope:
            if not out.requires_grad:
                jac = [np.zeros(out.shape + x.shape, out.dtype) for x in ins]
            elif nested and forward:
                jac = []
                for x in ins:
                    (t,) = autodiff.forward_tangents([out], [x], [_basis(x.shape, x.dtype)],
                                                     create_graph=True)
                    jac.append(t.reshape((x.numel(), out.numel())).T.reshape(out.shape + x.shape))
            elif nested:
                cot = Tensor._from_op(_basis(out.shape, out.dtype), None)
                gs = autodiff.grad(out, ins, cot, retain_graph=True, create_graph=True)
                jac = [g.reshape(out.shape + x.shape) for g, x in zip(gs, ins, strict=True)]
            elif forward:
                jac = [_dense_forward(out, x, sum(sizes)) for x in ins]
            else:
                jac = _dense_reverse(out, ins, sum(sizes))
        jac = [j if isinstance(j, Tensor) else Tensor._from_op(np.asarray(j), None) for j in jac]
        return jac[0] if isinstance(argnums, int) else tuple(jac)

    return wrapped


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """f ↦ ∇²f (forward-over-reverse: the forward-mode Jacobian of the reverse-mode gradient)."""
    return jacobian(grad(f, argnums), argnums, mode="forward")


class GradcheckError(AssertionError):
    """A gradient disagrees with central finite differences."""


def gradcheck(f: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    """Compare the reverse-mode Jacobian with central differences in float64; True or raise."""
    xs = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    names = [getattr(x, "name", None) or f"input {i}" for i, x in enumerate(inputs)]

    def f64(*vals):
        return f(*[Tensor(v) for v in vals])

    out0 = _as_out(f64(*xs), "gradcheck")
    for k, x in enumerate(xs):
        # every input reaches f as a Tensor: the one differentiated becomes a leaf, the others
        # constants (bare ndarrays would lack the Tensor methods f may call, such as .log())
        args = [x if i == k else Tensor(v) for i, v in enumerate(xs)]
        analytic = np.asarray(jacobian(f, argnums=k)(*args)).reshape(out0.numel(), x.size)
        numeric = np.empty_like(analytic)
        flat = x.reshape(-1)
        for j in range(x.size):
            orig = flat[j]
            flat[j] = orig + eps
            hi = np.asarray(f64(*xs).data, dtype=np.float64).reshape(-1)
            flat[j] = orig - eps
            lo = np.asarray(f64(*xs).data, dtype=np.float64).reshape(-1)
            flat[j] = orig
            numeric[:, j] = (hi - lo) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        bad = ~(err <= 0)
        if bad.any():
            worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))),
                                     err.shape)
            o_idx = np.unravel_index(worst[0], out0.shape) if out0.shape else ()
            i_idx = np.unravel_index(worst[1], x.shape) if x.shape else ()
            raise GradcheckError(
                f"gradcheck failed for {names[k]} (shape {x.shape}): {int(bad.sum())} of "
                f"{bad.size} Jacobian entries disagree; worst at output index "
                f"{tuple(int(i) for i in o_idx)}, "
                f"input index {tuple(int(i) for i in i_idx)}: analytic "
                f"{analytic[worst]:.10g}, numeric {numeric[worst]:.10g} "
                f"(|diff| {abs(analytic[worst] - numeric[worst]):.3g} > atol {atol} + rtol "
                f"{rtol}·|numeric|)")
    return True
