"""Tensor's operators and op methods (``a + b``, ``t.exp()``, ``t.sum(dim=1)``…), installed onto
:class:`~dagrad.tensor.Tensor` in one place, from the floor of the ops they call.

``tensor.py`` is the ground floor and imports no op; this module (imported by ``dagrad.ops``)
copies every attribute of :class:`TensorOps` onto Tensor, as JAX installs its array methods.
The arithmetic operators call the elementwise ops' entry directly (one call fewer than
``ops.add``).  ``backward`` is installed by :mod:`dagrad.autodiff`, the in-place methods by
:mod:`dagrad.inplace`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, _compare, _resolve_dtype
from . import elementwise, linalg, nn, reduce
from . import shape as shape_ops
from .base import apply, binary

__all__ = ["TensorOps", "install"]


class TensorOps:
    """The methods installed onto Tensor (not a base class: Tensor stays one flat class)."""

    @property
    def T(self) -> Tensor:
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        return shape_ops.swapaxes(self, -1, -2)

    def __add__(self, other): return binary(elementwise.Add, self, other)

    def __radd__(self, other): return binary(elementwise.Add, other, self)

    def __sub__(self, other): return binary(elementwise.Sub, self, other)

    def __rsub__(self, other): return binary(elementwise.Sub, other, self)

    def __mul__(self, other): return binary(elementwise.Mul, self, other)

    def __rmul__(self, other): return binary(elementwise.Mul, other, self)

    def __truediv__(self, other): return binary(elementwise.Div, self, other)

    def __rtruediv__(self, other): return binary(elementwise.Div, other, self)

    def __pow__(self, other): return elementwise.pow(self, other)

    def __rpow__(self, other): return elementwise.pow(other, self)

    def __matmul__(self, other): return linalg.matmul(self, other)

    def __rmatmul__(self, other): return linalg.matmul(other, self)

    def __neg__(self): return elementwise.neg(self)

    def __pos__(self): return self

    def __abs__(self): return elementwise.abs(self)

    def __getitem__(self, index): return shape_ops.getitem(self, index)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = _ufunc_table().get(ufunc.__name__) if method == "__call__" and not kwargs else None
        if fn is None:
            return NotImplemented
        return fn(*inputs)

    # ----- PyTorch's method forms of the arithmetic ----------------------------------------
    def add(self, other, *, alpha=1) -> Tensor:
        """self + α·other (torch.Tensor.add; α = 1 adds other itself)."""
        return binary(elementwise.Add, self, other if alpha == 1 else _scaled(other, alpha))

    def sub(self, other, *, alpha=1) -> Tensor:
        """self − α·other (torch.Tensor.sub)."""
        return binary(elementwise.Sub, self, other if alpha == 1 else _scaled(other, alpha))

    def mul(self, other) -> Tensor:
        """self · other, elementwise with broadcasting (torch.Tensor.mul)."""
        return binary(elementwise.Mul, self, other)

    def div(self, other, *, rounding_mode=None) -> Tensor:
        """self / other, true division (torch.Tensor.div; rounding modes are not offered)."""
        if rounding_mode is not None:
            raise NotImplementedError(f"div: rounding_mode={rounding_mode!r} is not supported "
                                      "(its derivative is zero almost everywhere); use true "
                                      "division, or floor the values with no_grad()")
        return binary(elementwise.Div, self, other)

    def neg(self) -> Tensor:
        """−self (torch.Tensor.neg)."""
        return elementwise.neg(self)

    def matmul(self, other) -> Tensor:
        """self @ other with NumPy's (and PyTorch's) rules (torch.Tensor.matmul)."""
        return linalg.matmul(self, other)

    def mm(self, mat2) -> Tensor:
        """The product of two matrices, both 2-D (torch.Tensor.mm)."""
        other = mat2 if isinstance(mat2, Tensor) else Tensor(mat2)
        if self.ndim != 2 or other.ndim != 2:
            bad, nd = ("self", self.ndim) if self.ndim != 2 else ("mat2", other.ndim)
            raise RuntimeError(f"mm: {bad} must be a matrix (2-D), got a {nd}-D tensor; use "
                               "matmul for vectors and batches")
        return linalg.matmul(self, other)

    def t(self) -> Tensor:
        """The transpose of a matrix; a vector or a number unchanged (torch.Tensor.t)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}-D; use transpose(dim0, dim1) or mT")
        return self if self.ndim < 2 else shape_ops.transpose(self, None)

    def reshape(self, *shape) -> Tensor:
        """The same values in a new shape (one dimension may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return shape_ops.reshape(self, shape)

    def view(self, *shape) -> Tensor:
        """The same values in a new shape (one dimension may be -1), as ``reshape``."""
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes start_dim … end_dim into one (all by default; a 0-d tensor gives (1,))."""
        return shape_ops.flatten(self, start_dim, end_dim)

    def unsqueeze(self, dim: int) -> Tensor:
        """A size-1 axis inserted at ``dim`` (−ndim−1 ≤ dim ≤ ndim)."""
        return shape_ops.unsqueeze(self, dim)

    def squeeze(self, dim: Any = None) -> Tensor:
        """Size-1 axes removed: all, or those of ``dim`` (an int or tuple) that have size 1."""
        return shape_ops.squeeze(self, dim=dim) if dim is not None else shape_ops.squeeze(self)

    def clone(self) -> Tensor:
        """A copy of the values that stays in the graph (its gradient flows back to self)."""
        return apply(elementwise.Cast, (self,), {"dtype": self.dtype})  # astype copies

    def transpose(self, *axes) -> Tensor:
        """Permute axes (reverse them when none are given); ``transpose(i, j)`` swaps two."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2 and self.ndim != 2:
            return shape_ops.swapaxes(self, *axes)
        return shape_ops.transpose(self, axes or None)

    def permute(self, *axes) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return shape_ops.transpose(self, axes)

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        return reduce.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
        return reduce.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """PyTorch's way (``dim`` given): (values, indices); NumPy's (``axis``) or none: values."""
        return reduce.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """PyTorch's way (``dim`` given): (values, indices); NumPy's (``axis``) or none: values."""
        return reduce.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim=None, keepdim=False) -> Tensor:
        """Index of the (first) maximum along ``dim``, or into the flattened tensor; int64."""
        return reduce.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False) -> Tensor:
        """Index of the (first) minimum along ``dim``, or into the flattened tensor; int64."""
        return reduce.argmin(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            ddof=None, keepdims=None) -> Tensor:
        """Σ (x − x̄)² / (N − correction): PyTorch's correction=1, or NumPy's ``ddof=0``."""
        return reduce.var(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                          ddof=ddof, keepdims=keepdims)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            ddof=None, keepdims=None) -> Tensor:
        """√var, same arguments and defaults as ``var``."""
        return reduce.std(self, dim, unbiased, keepdim, correction=correction, axis=axis,
                          ddof=ddof, keepdims=keepdims)

    def norm(self, p="fro", dim=None, keepdim=False) -> Tensor:
        """The vector p-norm (Σ |x_i|^p)^(1/p) over ``dim`` (all by default), as torch.norm."""
        return reduce.norm(self, p, dim, keepdim)

    def amax(self, dim=None, keepdim=False) -> Tensor:
        return reduce.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False) -> Tensor:
        return reduce.amin(self, dim, keepdim)

    def pow(self, exponent: Any) -> Tensor:
        """self ** exponent."""
        return elementwise.pow(self, exponent)

    def exp(self) -> Tensor: return elementwise.exp(self)

    def log(self) -> Tensor: return elementwise.log(self)

    def sqrt(self) -> Tensor: return elementwise.sqrt(self)

    def abs(self) -> Tensor: return elementwise.abs(self)

    def tanh(self) -> Tensor: return elementwise.tanh(self)

    def sigmoid(self) -> Tensor: return elementwise.sigmoid(self)

    def relu(self) -> Tensor: return elementwise.relu(self)

    def sin(self) -> Tensor: return elementwise.sin(self)

    def cos(self) -> Tensor: return elementwise.cos(self)

    def log1p(self) -> Tensor: return elementwise.log1p(self)

    def expm1(self) -> Tensor: return elementwise.expm1(self)

    def square(self) -> Tensor: return elementwise.square(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """min(max(self, min), max), either bound optional (gradient 1 inside, 0 outside)."""
        return elementwise.clamp(self, min, max)

    clip = clamp

    def softmax(self, axis=-1, *, dim=None) -> Tensor: return nn.softmax(self, axis, dim=dim)

    def log_softmax(self, axis=-1, *, dim=None) -> Tensor:
        return nn.log_softmax(self, axis, dim=dim)

    def astype(self, dtype: Any) -> Tensor:
        """Cast to another dtype (differentiable between float dtypes)."""
        return elementwise.cast(self, np.dtype(_resolve_dtype(dtype)))

    def to(self, dtype: Any) -> Tensor:
        return self.astype(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        """self cast to other's dtype (torch.Tensor.type_as)."""
        return self.astype(other.dtype)

    def new_zeros(self, *size, requires_grad: bool = False) -> Tensor:
        """Zeros of the given size in self's dtype (torch.Tensor.new_zeros)."""
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) \
            else size
        return Tensor(np.zeros(shape, self.dtype), requires_grad=requires_grad)

    # ----- logical reductions as methods (booleans: no gradient); comparisons: see below ----
    def all(self, dim=None, keepdim: bool = False) -> Tensor:
        """Whether every element (along ``dim``) is nonzero, booleans (torch.Tensor.all)."""
        return Tensor(np.all(self.data, axis=dim, keepdims=keepdim))

    def any(self, dim=None, keepdim: bool = False) -> Tensor:
        """Whether some element (along ``dim``) is nonzero, booleans (torch.Tensor.any)."""
        return Tensor(np.any(self.data, axis=dim, keepdims=keepdim))

    def maximum(self, other) -> Tensor:
        """max(self, other) elementwise (torch.Tensor.maximum; ties split the gradient as
        dg.maximum does)."""
        return elementwise.maximum(self, other)

    def minimum(self, other) -> Tensor:
        """min(self, other) elementwise (torch.Tensor.minimum)."""
        return elementwise.minimum(self, other)

    def expand(self, *sizes) -> Tensor:
        """self broadcast to ``sizes`` (−1 keeps a dimension; new ones lead), as
        torch.Tensor.expand; the gradient sums over the broadcast axes."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                               f"greater or equal to the number of dimensions in the tensor "
                               f"({self.ndim})")
        shape = []
        for i, n in enumerate(sizes):
            if n == -1:
                if i < lead:
                    raise RuntimeError(f"expand: -1 is not allowed for a new leading "
                                       f"dimension ({i})")
                n = self.shape[i - lead]
            elif i >= lead and self.shape[i - lead] not in (1, n):
                raise RuntimeError(f"expand: the expanded size {n} must match the existing size "
                                   f"{self.shape[i - lead]} at non-singleton dimension {i} "
                                   f"(target sizes {tuple(sizes)}, tensor shape {self.shape})")
            shape.append(int(n))
        return shape_ops.broadcast_to(self, tuple(shape))

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)


def _comparison(fn: Any, name: str, symbol: str) -> Any:
    def method(self, other) -> Tensor:
        return _compare(fn, self, other)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"self {symbol} other elementwise, booleans (torch.Tensor.{name})."
    return method


for _name, _fn, _symbol in (("eq", np.equal, "=="), ("ne", np.not_equal, "!="),
                            ("gt", np.greater, ">"), ("ge", np.greater_equal, ">="),
                            ("lt", np.less, "<"), ("le", np.less_equal, "<=")):
    setattr(TensorOps, _name, _comparison(_fn, _name, _symbol))


def _scaled(other: Any, alpha: Any) -> Any:
    """α·other for add/sub's ``alpha`` (a recorded product when other is a Tensor)."""
    if isinstance(other, Tensor):
        return binary(elementwise.Mul, other, alpha)
    if isinstance(other, (int, float)) and isinstance(alpha, (int, float)):
        return alpha * other  # a Python number stays weakly typed (a float32 tensor stays so)
    return np.multiply(alpha, other)


def _ufunc_table() -> dict:
    """NumPy ufunc names mapped to dagrad ops (built on first use)."""
    if not _UFUNCS:
        _UFUNCS.update({
            "add": elementwise.add, "subtract": elementwise.sub, "multiply": elementwise.mul,
            "true_divide": elementwise.div, "divide": elementwise.div,
            "power": elementwise.pow, "negative": elementwise.neg, "positive": lambda x: x,
            "exp": elementwise.exp, "log": elementwise.log, "sqrt": elementwise.sqrt,
            "absolute": elementwise.abs, "tanh": elementwise.tanh,
            "maximum": elementwise.maximum, "minimum": elementwise.minimum,
            "matmul": linalg.matmul, "square": elementwise.square,
            "sin": elementwise.sin, "cos": elementwise.cos, "log1p": elementwise.log1p,
            "expm1": elementwise.expm1,
            "less": lambda a, b: _compare(np.less, a, b),
            "less_equal": lambda a, b: _compare(np.less_equal, a, b),
            "greater": lambda a, b: _compare(np.greater, a, b),
            "greater_equal": lambda a, b: _compare(np.greater_equal, a, b),
            "equal": lambda a, b: _compare(np.equal, a, b),
            "not_equal": lambda a, b: _compare(np.not_equal, a, b),
        })
    return _UFUNCS


_UFUNCS: dict = {}


def install(cls: type = Tensor) -> None:
    """Copy every method and property of :class:`TensorOps` onto ``cls``."""
    for name, value in vars(TensorOps).items():
        if not (name.startswith("__") and name.endswith("__")) or callable(value):
            if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
                setattr(cls, name, value)


install()
