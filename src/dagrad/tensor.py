"""Tensor: an ndarray that remembers the op that made it, plus creation, dtype policy, no_grad."""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import versions

__all__ = [
    "Tensor",
    "tensor",
    "as_tensor",
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "randn",
    "rand",
    "arange",
    "eye",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "set_default_dtype",
    "get_default_dtype",
    "manual_seed",
    "default_generator",
    "HookHandle",
]

_SEQ = itertools.count()
#: Non-leaf tensors whose ``.grad`` backward fills too (``retain_grad``), by id: a dict, not a
#: flag on every tensor, so making a tensor costs one attribute less and backward tests one
#: dict.  (Not a WeakSet: its lookups compare tensors with ``==``, which is elementwise here.)
RETAINED: dict[int, weakref.ref] = {}
#: The dtype of a Python float held as a 0-d value (see ``Tensor._d``).
_F64 = np.dtype(np.float64)


#: Gradient hooks (``Tensor.register_hook``) by id(tensor): {handle id: hook}, in the order
#: registered.  Backward reads it only while it is non-empty.
GRAD_HOOKS: dict[int, dict[int, Any]] = {}
_HOOK_IDS = itertools.count()


class HookHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off again (as PyTorch's)."""

    __slots__ = ("_key", "_hooks", "id")

    def __init__(self, key: int, hooks: dict[int, Any]) -> None:
        self._key, self._hooks, self.id = key, hooks, next(_HOOK_IDS)

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self.id, None)
        if not self._hooks and GRAD_HOOKS.get(self._key) is self._hooks:
            del GRAD_HOOKS[self._key]

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _drop_hooks(key: int, hooks: dict[int, Any]) -> None:
    if GRAD_HOOKS.get(key) is hooks:
        del GRAD_HOOKS[key]


def run_grad_hooks(t: Tensor, g: Any) -> Any:
    """g after t's gradient hooks (each sees the previous one's result), as a Tensor or array.

    ``g`` is what backward holds (an ndarray, a NumPy scalar, or a Tensor with create_graph);
    the result has the same kind.
    """
    as_tensor_in = isinstance(g, Tensor)
    cur = g if as_tensor_in else Tensor._from_op(np.asarray(g), None)
    for hook in list(GRAD_HOOKS.get(id(t), {}).values()):
        new = hook(cur)
        if new is None:
            continue
        if not isinstance(new, Tensor):
            new = Tensor._from_op(np.asarray(new), None)
        if new.shape != cur.shape:
            raise RuntimeError(f"register_hook: a hook returned a gradient of shape {new.shape} "
                               f"for a gradient of shape {cur.shape}")
        cur = new
    if as_tensor_in:
        return cur
    out = cur.data
    return out if out.dtype == t.dtype else out.astype(t.dtype)


def _check_dim(dim: Any, ndim: int, what: str) -> int:
    """``dim`` as an axis in [0, ndim), or PyTorch's IndexError naming the valid range."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{what}: dim must be an int, got {type(dim).__name__}")
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not lo <= dim <= hi:
        raise IndexError(f"{what}: Dimension out of range (expected to be in range of "
                         f"[{lo}, {hi}], but got {dim})")
    return int(dim) % ndim if ndim else 0


class _Modes(threading.local):
    """Per-thread switches, as PyTorch's: grad mode, inference mode, anomaly mode."""

    grad_enabled = True   # class attributes: each new thread starts from these
    inference = False
    anomaly = 0           # depth of detect_anomaly() blocks


MODES = _Modes()


class _State:
    """Process-wide settings (the default float dtype, the random generator).

    ``grad_enabled`` reads and writes the calling thread's grad mode.  ``grad_off`` counts the
    threads whose grad mode is off right now: while it is 0, grad mode is on in every thread
    and the hot path (:func:`grad_on`) reads one plain attribute instead of the thread-local.
    """

    def __init__(self) -> None:  # instance attributes: the cheapest lookup for hot reads
        self.grad_off: int = 0
        self.rebased: int = 0  # recorded in-place ops so far (backward routes old consumers)
        self.default_dtype: np.dtype = np.dtype(np.float32)
        self.rng: np.random.Generator = np.random.default_rng()

    @property
    def grad_enabled(self) -> bool:
        return MODES.grad_enabled

    @grad_enabled.setter
    def grad_enabled(self, enabled: bool) -> None:
        enabled = bool(enabled)
        if MODES.grad_enabled != enabled:
            with _MODE_LOCK:
                self.grad_off += -1 if enabled else 1
            MODES.grad_enabled = enabled


_MODE_LOCK = threading.Lock()
STATE = _State()


def grad_on() -> bool:
    """True when this thread records operations (cheap: one read while no thread is off)."""
    return not STATE.grad_off or MODES.grad_enabled


def set_default_dtype(dtype: Any) -> None:
    """Set the float dtype used for Python floats and random tensors (float32 or float64)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dt}")
    STATE.default_dtype = dt


def get_default_dtype() -> np.dtype:
    """The current default float dtype (float32 unless changed)."""
    return STATE.default_dtype


def is_grad_enabled() -> bool:
    """True when operations are being recorded for differentiation (in this thread)."""
    return MODES.grad_enabled


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (in this thread)."""
    return MODES.inference


class _GradMode:
    """Set this thread's grad mode; restores the previous one on exit (a context manager).

    Like ``torch.set_grad_enabled`` it acts at once when called, so it also works as a plain
    function call; ``no_grad``/``enable_grad`` act on entering their ``with`` block.
    """

    def __init__(self, enabled: bool, now: bool = False, inference: bool | None = None):
        self.enabled = bool(enabled)
        self.inference = inference
        self.prev: tuple[bool, bool] | None = None
        if now:
            self._enter()

    def _enter(self) -> None:
        self.prev = (MODES.grad_enabled, MODES.inference)
        STATE.grad_enabled = self.enabled
        if self.inference is not None:
            MODES.inference = self.inference

    def __enter__(self) -> None:
        if self.prev is None:
            self._enter()

    def __exit__(self, *exc: Any) -> None:
        if self.prev is not None:
            STATE.grad_enabled, MODES.inference = self.prev
            self.prev = None

    def __call__(self, fn: Any) -> Any:  # as a decorator, like torch.no_grad()
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(self.enabled, inference=self.inference):
                return fn(*args, **kwargs)
        return wrapper


def _grad_mode(enabled: bool) -> _GradMode:
    return _GradMode(enabled)


def no_grad() -> _GradMode:
    """Context manager: operations inside are not recorded (like ``torch.no_grad``)."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager: operations inside are recorded even within ``no_grad``."""
    return _GradMode(True)


def set_grad_enabled(mode: bool) -> _GradMode:
    """Turn recording on or off in this thread now; as a context manager, until the block ends."""
    return _GradMode(mode, now=True)


def inference_mode(mode: bool = True) -> _GradMode:
    """Context manager: no recording, as ``torch.inference_mode`` (here: ``no_grad`` semantics)."""
    return _GradMode(not mode, inference=bool(mode))


def manual_seed(seed: int) -> np.random.Generator:
    """Seed everything random in dagrad: randn, rand, module initialisation, dropout masks and
    the order of a DataLoader made without ``seed=``.  Returns the new default generator."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: expected a non-negative integer, got {seed!r}")
    STATE.rng = np.random.default_rng(int(seed))
    return STATE.rng


def default_generator() -> np.random.Generator:
    """The generator every random draw in dagrad uses (``dg.manual_seed`` replaces it).

    Call it at each draw rather than keeping it: ``manual_seed`` and resuming a checkpoint put a
    new generator in its place.
    """
    return STATE.rng


def _resolve_dtype(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in ("float", "double", "long", "int", "half"):
        dtype = {"float": "float32", "double": "float64", "long": "int64", "int": "int32",
                 "half": "float16"}[dtype]
    return np.dtype(dtype)


def _to_array(data: Any, dtype: np.dtype | None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        if dtype is None and arr.dtype.kind == "f":
            arr = arr.astype(STATE.default_dtype)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor: unsupported data of dtype {arr.dtype} (numbers only)")
    return arr


class Tensor:
    """An n-dimensional array that records how it was computed, so it can be differentiated."""

    # ``_d`` holds the values: an ndarray, or — for the 0-d result of an elementwise op — one
    # number: a Python float for float64 (a float is exactly an IEEE double and its + − × ÷ are
    # NumPy's, bit for bit, at a fraction of a NumPy scalar's cost), else a NumPy scalar of the
    # result's dtype (scalar arithmetic skips the ufunc machinery, ~10x cheaper per op).
    # ``.data`` always hands out an ndarray, turning a held number into one on first read.
    # The node that made a result is kept in three slots, ``_op``, ``_ins`` (the input tensors)
    # and ``_attrs``, not in a tuple of its own: one object fewer per op for the allocator and
    # the garbage collector.  ``_node`` gives them as (op, inputs, attrs), or None for leaves.
    # ``_freed`` marks a node whose backward ran without ``retain_graph``: its saved values
    # count as released, and a second backward through it raises (as PyTorch's).
    __slots__ = ("_d", "requires_grad", "_grad", "name", "_op", "_ins", "_attrs", "_seq",
                 "_freed", "__weakref__")
    # Let NumPy hand mixed expressions (ndarray * Tensor) to us instead of converting.
    __array_priority__ = 1000.0

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None,
                 dtype: Any = None):
        arr = _to_array(data, _resolve_dtype(dtype))
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients (got dtype {arr.dtype}); "
                "pass dtype='float32' or 'float64'")
        self._d = arr
        self.requires_grad: bool = bool(requires_grad)
        self._grad: Tensor | None = None
        self.name: str | None = name
        self._op = self._ins = self._attrs = None  # set for results of ops
        self._seq: int = next(_SEQ)
        self._freed = False

    @classmethod
    def _from_op(cls, data: np.ndarray | np.generic, node: tuple | None) -> Tensor:
        t = object.__new__(cls)
        t._d = data
        t.requires_grad = node is not None
        t._grad = None
        t.name = None
        if node is None:
            t._op = t._ins = t._attrs = None
        else:
            t._op, t._ins, t._attrs = node
        t._seq = next(_SEQ)
        t._freed = False
        return t

    # ----- basic properties -------------------------------------------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient backward accumulated here (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, g: Tensor | None) -> None:
        """``t.grad = g``: None, or a Tensor of t's shape and dtype (else PyTorch's errors)."""
        if g is not None:
            if not isinstance(g, Tensor):
                kind = type(g)
                name = kind.__qualname__ if kind.__module__ == "builtins" else \
                    f"{kind.__module__}.{kind.__qualname__}"
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {name}")
            if g.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of shape {g.shape} to a "
                                   f"tensor of shape {self.shape}: the gradient and the tensor "
                                   "must have the same shape")
            if g.dtype != self.dtype:
                raise RuntimeError(f"attempting to assign a gradient of dtype {g.dtype} to a "
                                   f"tensor of dtype {self.dtype}: the gradient must have the "
                                   "tensor's dtype")
        self._grad = g

    @property
    def data(self) -> np.ndarray:
        """The values as an ndarray (shared, not copied)."""
        d = self._d
        if type(d) is not np.ndarray:  # a number held by the scalar fast path
            d = self._d = np.asarray(d)  # a Python float becomes a float64 0-d array
        return d

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self._d = value if type(value) is np.ndarray else np.asarray(value)

    @property
    def _node(self) -> tuple | None:
        """(op, inputs, attrs) of the op that made this tensor; None for leaves."""
        return None if self._op is None else (self._op, self._ins, self._attrs)

    @property
    def shape(self) -> tuple[int, ...]:
        d = self._d
        return () if type(d) is float else d.shape

    @property
    def ndim(self) -> int:
        d = self._d
        return 0 if type(d) is float else d.ndim

    @property
    def dtype(self) -> np.dtype:
        d = self._d
        return _F64 if type(d) is float else d.dtype

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape as a tuple, or the length of axis ``dim`` (PyTorch's ``size``; a method)."""
        if dim is None:
            return self.shape
        if not self.ndim:
            raise IndexError(f"size: dimension specified as {dim} but tensor has no dimensions")
        return self._d.shape[_check_dim(dim, self._d.ndim, "size")]

    def numel(self) -> int:
        """The number of elements: ∏ size()."""
        d = self._d
        return 1 if type(d) is float else int(d.size)

    def dim(self) -> int:
        """The number of axes (``ndim``)."""
        return self.ndim

    @property
    def _version(self) -> int:
        """How many times this tensor's memory was modified in place (shared with its views)."""
        return versions.version(self._d)

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op."""
        return self._op is None

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor (None for leaves)."""
        return None if self._op is None else self._op.name

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        d = self._d
        if type(d) is float:
            return d
        if d.size != 1:
            raise ValueError(f"item(): tensor has {self._d.size} elements, expected 1 "
                             f"(shape {self.shape})")
        return self._d.item()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError("the truth value of a tensor with more than one element is "
                             "ambiguous; use (t).any() or .all() on t.numpy()")
        return bool(self.data)

    __hash__ = object.__hash__  # identity, computed in C: tensors are keys in the engine's dicts

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extras = []
        if self.dtype != STATE.default_dtype and self.dtype.kind == "f" or self.dtype.kind != "f":
            extras.append(f"dtype={self.dtype}")
        if self.name:
            extras.append(f"name={self.name!r}")
        if self._op is not None:
            extras.append(f"op={self._op.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ----- autodiff -----------------------------------------------------------
    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._from_op(self.data, None)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf as requiring gradients (in place); returns self."""
        if self._op is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach()")
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients "
                            f"(got dtype {self.dtype})")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (as in PyTorch; leaves keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so it gets no "
                               "gradient to keep")
        if self._op is not None:
            key = id(self)
            RETAINED[key] = weakref.ref(self, lambda _r: RETAINED.pop(key, None))

    def register_hook(self, hook: Any) -> HookHandle:
        """Call ``hook(grad)`` with ∂L/∂self during each backward; a Tensor it returns replaces
        the gradient (for the inputs behind self and for a leaf's ``.grad``), as in PyTorch."""
        if not callable(hook):
            raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        key = id(self)
        hooks = GRAD_HOOKS.get(key)
        if hooks is None:
            hooks = GRAD_HOOKS[key] = {}
            weakref.finalize(self, _drop_hooks, key, hooks)
        handle = HookHandle(key, hooks)
        hooks[handle.id] = hook
        return handle

    # ----- in place (recorded like any op when gradients flow; see dagrad.inplace) ---------------

    # ----- operators ------------------------------------------------------------

    # comparisons: no gradient, boolean result
    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    def __eq__(self, other): return _compare(np.equal, self, other)  # type: ignore[override]
    def __ne__(self, other): return _compare(np.not_equal, self, other)  # type: ignore[override]

    # NumPy ufuncs on Tensors go through the op table (np.exp(t) is t.exp()).

    # ----- methods ----------------------------------------------------------------






















#: Tracers of comparisons (dg.vmap): while one is installed, each comparison result is noted
#: there as {id(result): (result, ufunc, a, b)}, so that a mask can be recomputed on a batch.
COMPARE_TRACERS: list[dict[int, tuple]] = []


def _compare(fn, a, b) -> Tensor:
    av = a.data if isinstance(a, Tensor) else a
    bv = b.data if isinstance(b, Tensor) else b
    out = Tensor._from_op(np.asarray(fn(av, bv)), None)
    if COMPARE_TRACERS:
        COMPARE_TRACERS[-1][id(out)] = (out, fn, a, b)
    return out


# ----- creation ------------------------------------------------------------------
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False,
           name: str | None = None) -> Tensor:
    """Make a leaf tensor from numbers, lists or an ndarray (copied); floats default to float32."""
    if isinstance(data, Tensor):
        data = data.data
    arr = _to_array(data, _resolve_dtype(dtype))
    if isinstance(data, np.ndarray) and arr is data:
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad, name=name)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """Wrap without copying when possible; Tensors pass through unchanged."""
    if isinstance(data, Tensor) and dtype is None:
        return data
    return Tensor(data, dtype=dtype)


def _shape(shape: Sequence) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _float_dtype(dtype: Any) -> np.dtype:
    return _resolve_dtype(dtype) or STATE.default_dtype


def zeros(*shape, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return Tensor(np.zeros(_shape(shape), _float_dtype(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(_shape(shape), _float_dtype(dtype)), requires_grad=requires_grad)


def _scalar_dtype(value: Any) -> np.dtype:
    """PyTorch's dtype for a Python number: bool, int64, or the default float dtype."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(value, (float, np.floating)):
        return STATE.default_dtype
    raise TypeError(f"expected a number, got {type(value).__name__}")


def full(size: Sequence[int] | int, fill_value: float, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``; the dtype follows the value as
    PyTorch's (int → int64, bool → bool, float → the default float dtype)."""
    dt = _resolve_dtype(dtype) or _scalar_dtype(fill_value)
    shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return Tensor(np.full(shape, fill_value, dt), requires_grad=requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype) of ``t``."""
    arr = np.asarray(t)
    return Tensor(np.zeros(arr.shape, _resolve_dtype(dtype) or arr.dtype),
                  requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype) of ``t``."""
    arr = np.asarray(t)
    return Tensor(np.ones(arr.shape, _resolve_dtype(dtype) or arr.dtype),
                  requires_grad=requires_grad)


_DRAW_CHUNK = 1 << 20  # float64 draws per block when the result is of another dtype


def _draw(rng: np.random.Generator, method: str, shape: tuple[int, ...],
          dtype: np.dtype) -> np.ndarray:
    """rng.<method>(shape) in ``dtype``: float64 draws cast block by block into the result.

    The values are those of one float64 draw (the same random stream whatever the dtype), but
    the peak memory is the result plus one block, not a float64 copy of the whole result.
    """
    draw = getattr(rng, method)
    if dtype == np.float64:
        return draw(shape)
    out = np.empty(shape, dtype)
    flat = out.reshape(-1)
    for start in range(0, flat.size, _DRAW_CHUNK):
        stop = min(start + _DRAW_CHUNK, flat.size)
        flat[start:stop] = draw(stop - start)
    return out


def randn(*shape, dtype: Any = None, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples N(0, 1)."""
    return Tensor(_draw(generator or STATE.rng, "standard_normal", _shape(shape),
                        _float_dtype(dtype)), requires_grad=requires_grad)


def rand(*shape, dtype: Any = None, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples on [0, 1)."""
    return Tensor(_draw(generator or STATE.rng, "random", _shape(shape), _float_dtype(dtype)),
                  requires_grad=requires_grad)


def arange(*args: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """[start, end) in steps of ``step``, as ``torch.arange(start=0, end, step=1)``: int64 when
    every bound is an integer, else the default float dtype."""
    if not 1 <= len(args) <= 3:
        raise TypeError(f"arange: expected end, (start, end) or (start, end, step), got "
                        f"{len(args)} arguments")
    for a in args:
        _scalar_dtype(a.item() if isinstance(a, Tensor) else a)
    vals = [a.item() if isinstance(a, Tensor) else a for a in args]
    if len(vals) == 3 and vals[2] == 0:
        raise ValueError("arange: step must be nonzero")
    dt = _resolve_dtype(dtype)
    if dt is None:
        dt = np.dtype(np.int64) if all(isinstance(v, (int, np.integer)) for v in vals) \
            else STATE.default_dtype
    if dt.kind == "f":  # the values in float64, then cast: start + i·step, as torch computes
        return Tensor(np.arange(*[float(v) for v in vals], dtype=np.float64).astype(dt),
                      requires_grad=requires_grad)
    return Tensor(np.arange(*vals).astype(dt), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None) -> Tensor:
    """The identity matrix."""
    return Tensor(np.eye(n, m, dtype=_float_dtype(dtype)))
