"""Tensor: an ndarray that remembers the op that made it, plus creation, dtype policy, no_grad."""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

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
    "is_grad_enabled",
    "set_default_dtype",
    "get_default_dtype",
    "manual_seed",
]

_SEQ = itertools.count()
#: Non-leaf tensors whose ``.grad`` backward fills too (``retain_grad``); a set, not a flag on
#: every tensor, so making a tensor costs one attribute less and backward tests one set.
RETAINED: weakref.WeakSet = weakref.WeakSet()  # creation order: a topological order of every graph


class _State:
    """Process-wide switches: recording on/off and the default float dtype."""

    def __init__(self) -> None:  # instance attributes: the cheapest lookup for hot reads
        self.grad_enabled: bool = True
        self.default_dtype: np.dtype = np.dtype(np.float32)
        self.rng: np.random.Generator = np.random.default_rng()


STATE = _State()


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
    """True when operations are being recorded for differentiation."""
    return STATE.grad_enabled


@contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    prev = STATE.grad_enabled
    STATE.grad_enabled = enabled
    try:
        yield
    finally:
        STATE.grad_enabled = prev


def no_grad():
    """Context manager: operations inside are not recorded (like ``torch.no_grad``)."""
    return _grad_mode(False)


def enable_grad():
    """Context manager: operations inside are recorded even within ``no_grad``."""
    return _grad_mode(True)


def manual_seed(seed: int) -> None:
    """Seed dagrad's random generator (randn, rand, module initialisation)."""
    STATE.rng = np.random.default_rng(seed)


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

    # ``_d`` holds the values: an ndarray, or — for the 0-d result of an elementwise op — a NumPy
    # scalar of the same dtype (scalar arithmetic skips the ufunc machinery, ~10x cheaper per
    # op).  ``.data`` always hands out an ndarray, turning a held scalar into one on first read.
    # The node that made a result is kept in three slots, ``_op``, ``_ins`` (the input tensors)
    # and ``_attrs``, not in a tuple of its own: one object fewer per op for the allocator and
    # the garbage collector.  ``_node`` gives them as (op, inputs, attrs), or None for leaves.
    __slots__ = ("_d", "requires_grad", "grad", "name", "_op", "_ins", "_attrs", "_seq",
                 "__weakref__")
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
        self.grad: Tensor | None = None
        self.name: str | None = name
        self._op = self._ins = self._attrs = None  # set for results of ops
        self._seq: int = next(_SEQ)

    @classmethod
    def _from_op(cls, data: np.ndarray | np.generic, node: tuple | None) -> Tensor:
        t = object.__new__(cls)
        t._d = data
        t.requires_grad = node is not None
        t.grad = None
        t.name = None
        if node is None:
            t._op = t._ins = t._attrs = None
        else:
            t._op, t._ins, t._attrs = node
        t._seq = next(_SEQ)
        return t

    # ----- basic properties -------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The values as an ndarray (shared, not copied)."""
        d = self._d
        if type(d) is not np.ndarray:  # a NumPy scalar held by the scalar fast path
            d = self._d = np.asarray(d)
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
        return self._d.shape

    @property
    def ndim(self) -> int:
        return self._d.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._d.dtype

    @property
    def size(self) -> int:
        return self._d.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op."""
        return self._op is None

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor (None for leaves)."""
        return None if self._op is None else self._op.name

    @property
    def T(self) -> Tensor:
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        return ops.swapaxes(self, -1, -2)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self._d.size != 1:
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
        """Keep ``.grad`` on this non-leaf tensor after backward (as in PyTorch)."""
        RETAINED.add(self)

    def backward(self, grad: Any = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` by reverse mode."""
        autodiff.backward(self, grad, create_graph=create_graph)

    def zero_(self) -> Tensor:
        """Fill with zeros in place (data only; not recorded)."""
        self.data[...] = 0
        return self

    # ----- operators ------------------------------------------------------------
    def __add__(self, other): return _binary(_ew.Add, self, other)
    def __radd__(self, other): return _binary(_ew.Add, other, self)
    def __sub__(self, other): return _binary(_ew.Sub, self, other)
    def __rsub__(self, other): return _binary(_ew.Sub, other, self)
    def __mul__(self, other): return _binary(_ew.Mul, self, other)
    def __rmul__(self, other): return _binary(_ew.Mul, other, self)
    def __truediv__(self, other): return _binary(_ew.Div, self, other)
    def __rtruediv__(self, other): return _binary(_ew.Div, other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __getitem__(self, index): return ops.getitem(self, index)

    # comparisons: no gradient, boolean result
    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    def __eq__(self, other): return _compare(np.equal, self, other)  # type: ignore[override]
    def __ne__(self, other): return _compare(np.not_equal, self, other)  # type: ignore[override]

    # NumPy ufuncs on Tensors go through the op table (np.exp(t) is t.exp()).
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = _ufunc_table().get(ufunc.__name__) if method == "__call__" and not kwargs else None
        if fn is None:
            return NotImplemented
        return fn(*inputs)

    # ----- methods ----------------------------------------------------------------
    def reshape(self, *shape) -> Tensor:
        """The same values in a new shape (one dimension may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def view(self, *shape) -> Tensor:
        return self.reshape(*shape)

    def flatten(self) -> Tensor:
        return ops.reshape(self, (-1,))

    def transpose(self, *axes) -> Tensor:
        """Permute axes (reverse them when none are given); ``transpose(i, j)`` swaps two."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2 and self.ndim != 2:
            return ops.swapaxes(self, *axes)
        return ops.transpose(self, axes or None)

    def permute(self, *axes) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes)

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        return ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        return ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        return ops.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def exp(self) -> Tensor: return ops.exp(self)
    def log(self) -> Tensor: return ops.log(self)
    def sqrt(self) -> Tensor: return ops.sqrt(self)
    def abs(self) -> Tensor: return ops.abs(self)
    def tanh(self) -> Tensor: return ops.tanh(self)
    def sigmoid(self) -> Tensor: return ops.sigmoid(self)
    def relu(self) -> Tensor: return ops.relu(self)
    def softmax(self, axis=-1, *, dim=None) -> Tensor: return ops.softmax(self, axis, dim=dim)

    def log_softmax(self, axis=-1, *, dim=None) -> Tensor:
        return ops.log_softmax(self, axis, dim=dim)

    def astype(self, dtype: Any) -> Tensor:
        """Cast to another dtype (differentiable between float dtypes)."""
        return ops.cast(self, np.dtype(_resolve_dtype(dtype)))

    def to(self, dtype: Any) -> Tensor:
        return self.astype(dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)


def _compare(fn, a, b) -> Tensor:
    a = a.data if isinstance(a, Tensor) else a
    b = b.data if isinstance(b, Tensor) else b
    return Tensor._from_op(np.asarray(fn(a, b)), None)


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


def full(shape: Sequence[int], value: float, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``value``."""
    return Tensor(np.full(tuple(shape), value, _float_dtype(dtype)), requires_grad=requires_grad)


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


def randn(*shape, dtype: Any = None, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples N(0, 1)."""
    rng = generator or STATE.rng
    arr = rng.standard_normal(_shape(shape)).astype(_float_dtype(dtype))
    return Tensor(arr, requires_grad=requires_grad)


def rand(*shape, dtype: Any = None, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples on [0, 1)."""
    rng = generator or STATE.rng
    arr = rng.random(_shape(shape)).astype(_float_dtype(dtype))
    return Tensor(arr, requires_grad=requires_grad)


def arange(*args, dtype: Any = None) -> Tensor:
    """Evenly spaced values, as ``np.arange``."""
    return Tensor(np.arange(*args, dtype=_resolve_dtype(dtype)))


def eye(n: int, m: int | None = None, dtype: Any = None) -> Tensor:
    """The identity matrix."""
    return Tensor(np.eye(n, m, dtype=_float_dtype(dtype)))


from . import autodiff, ops  # noqa: E402  (both need Tensor defined above)

# The arithmetic operators call the elementwise ops' entry directly (one call fewer than
# ``ops.add``); ``dagrad.ops`` sets these two once its elementwise module exists.
_ew: Any = None
_binary: Any = None


def _ufunc_table() -> dict:
    """NumPy ufunc names mapped to dagrad ops (built on first use)."""
    if not _UFUNCS:
        _UFUNCS.update({
            "add": ops.add, "subtract": ops.sub, "multiply": ops.mul, "true_divide": ops.div,
            "divide": ops.div, "power": ops.pow, "negative": ops.neg, "positive": lambda x: x,
            "exp": ops.exp, "log": ops.log, "sqrt": ops.sqrt, "absolute": ops.abs,
            "tanh": ops.tanh, "maximum": ops.maximum, "minimum": ops.minimum,
            "matmul": ops.matmul, "square": lambda x: ops.pow(x, 2),
            "less": lambda a, b: _compare(np.less, a, b),
            "less_equal": lambda a, b: _compare(np.less_equal, a, b),
            "greater": lambda a, b: _compare(np.greater, a, b),
            "greater_equal": lambda a, b: _compare(np.greater_equal, a, b),
            "equal": lambda a, b: _compare(np.equal, a, b),
            "not_equal": lambda a, b: _compare(np.not_equal, a, b),
        })
    return _UFUNCS


_UFUNCS: dict = {}
