"""Elementwise ops: arithmetic, powers, exp/log, sin/cos, activations, maximum/minimum, clamp,
where, cast.

Each entry is one line per derivative.  Ties follow PyTorch: relu'(0) = 0; ``maximum`` and
``minimum`` split the gradient evenly between equal inputs; abs'(0) = 0; clamp passes the
gradient at its bounds.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from ..tensor import _SEQ, MODES, STATE, Tensor
from . import rulemath as rm
from .base import HOOKS, Op, Template, apply, as_input, binary, record_result, unary


def _sp():
    import sympy

    return sympy


_SCALARS = (np.float64, np.float32)


def _with_math(ufunc: np.ufunc, fn: Any) -> Any:
    """``ufunc``, computed by the ``math`` module for one float64/float32 number (0-d).

    A scalar through a ufunc costs ~5x the math call.  Domain and range errors (log 0, exp 1000)
    fall back to the ufunc, so results and warnings (−inf, nan, inf) are NumPy's.  Arithmetic ops
    need no such helper: their forwards are Python's operators, which NumPy scalars implement
    without the ufunc machinery and ndarrays map to the same ufuncs.
    """
    def forward(a: Any) -> Any:
        t = type(a)
        if t is float:  # a float64 number held as a Python float (the scalar fast path)
            try:
                return fn(a)
            except (OverflowError, ValueError):
                return ufunc(a)
        if t is np.ndarray:
            if a.ndim:
                return ufunc(a)
            a = a[()]  # a 0-d array (a leaf) takes the same path as a scalar
            t = type(a)
        if t is _SCALARS[0] or t is _SCALARS[1]:
            try:
                return t(fn(a))
            except (OverflowError, ValueError):
                pass
        return ufunc(a)

    forward.__name__ = forward.__qualname__ = ufunc.__name__
    forward.__doc__ = f"np.{ufunc.__name__}, with a math.{fn.__name__} path for one number"
    return forward


# ----- the table ------------------------------------------------------------------------------
Add = Op(
    "add", operator.add, args=("a", "b"), broadcasts=True, elementwise=True, symbol="+",
    vjp=(lambda g, a, b, out: g, lambda g, a, b, out: g),
    jvp=(lambda t, a, b, out: t, lambda t, a, b, out: t),
    formula=(lambda a, b, out: 1, lambda a, b, out: 1),
    symbolic=lambda a, b: a + b,
    saves=(),
    doc="a + b")

Sub = Op(
    "sub", operator.sub, args=("a", "b"), broadcasts=True, elementwise=True, symbol="−",
    vjp=(lambda g, a, b, out: g, lambda g, a, b, out: -g),
    jvp=(lambda t, a, b, out: t, lambda t, a, b, out: -t),
    formula=(lambda a, b, out: 1, lambda a, b, out: -1),
    symbolic=lambda a, b: a - b,
    saves=(),
    doc="a − b")

Mul = Op(
    "mul", operator.mul, args=("a", "b"), broadcasts=True, elementwise=True, symbol="×",
    vjp=(lambda g, a, b, out: g * b, lambda g, a, b, out: g * a),
    jvp=(lambda t, a, b, out: t * b, lambda t, a, b, out: t * a),
    formula=(lambda a, b, out: b, lambda a, b, out: a),
    symbolic=lambda a, b: a * b,
    saves=("a", "b"),
    doc="a · b")

Div = Op(
    "div", operator.truediv, args=("a", "b"), broadcasts=True, elementwise=True, symbol="÷",
    vjp=(lambda g, a, b, out: g / b, lambda g, a, b, out: -g * out / b),
    jvp=(lambda t, a, b, out: t / b, lambda t, a, b, out: -t * out / b),
    formula=(lambda a, b, out: 1 / b, lambda a, b, out: -a / b**2),
    symbolic=lambda a, b: a / b,
    saves=("b", "out"),
    doc="a / b")

Neg = Op(
    "neg", operator.neg, symbol="−", elementwise=True,
    vjp=(lambda g, a, out: -g,), jvp=(lambda t, a, out: -t,),
    formula=(lambda a, out: -1,), symbolic=lambda a: -a,
    saves=(),
    doc="−a")


def _powi_forward(a: np.ndarray, n: int) -> np.ndarray:
    if type(a) is float:  # a float64 number (the scalar fast path)
        return a * a if n == 2 else np.power(a, n)
    if n == 2 and (type(a) in _SCALARS or a.dtype.kind != "b"):
        return a * a  # the common square: one multiply instead of pow()
    if a.dtype.kind != "f" and n < 0:
        a = a.astype(np.float64)
    return np.power(a, n)


PowI = Op(
    "powi", _powi_forward, elementwise=True, symbol="pow",
    vjp=(lambda g, a, out, n: g * (n * a ** (n - 1)),),
    jvp=(lambda t, a, out, n: t * (n * a ** (n - 1)),),
    formula=(lambda a, out, n: n * a ** (n - 1),),
    symbolic=lambda a, n: a**n,
    saves=("a",),
    doc="a**n for a Python integer n (works for negative a; drawn as a power)")

Pow = Op(
    "pow", np.power, args=("a", "b"), broadcasts=True, elementwise=True, symbol="pow",
    vjp=(lambda g, a, b, out: g * (b * a ** (b - 1)),
         lambda g, a, b, out: g * (out * rm.log(a))),
    jvp=(lambda t, a, b, out: t * (b * a ** (b - 1)),
         lambda t, a, b, out: t * (out * rm.log(a))),
    formula=(lambda a, b, out: b * a ** (b - 1), lambda a, b, out: a**b * _sp().log(a)),
    symbolic=lambda a, b: a**b,
    saves=("a", "b", "out"),
    doc="a**b for a tensor or non-integer exponent")

Exp = Op(
    "exp", _with_math(np.exp, math.exp), elementwise=True,
    vjp=(lambda g, a, out: g * out,), jvp=(lambda t, a, out: t * out,),
    formula=(lambda a, out: _sp().exp(a),), symbolic=lambda a: _sp().exp(a),
    saves=("out",),
    doc="e**a")

Log = Op(
    "log", _with_math(np.log, math.log), elementwise=True,
    vjp=(lambda g, a, out: g / a,), jvp=(lambda t, a, out: t / a,),
    formula=(lambda a, out: 1 / a,), symbolic=lambda a: _sp().log(a),
    saves=("a",),
    doc="natural logarithm")

Sqrt = Op(
    "sqrt", _with_math(np.sqrt, math.sqrt), elementwise=True,
    vjp=(lambda g, a, out: g / (2 * out),), jvp=(lambda t, a, out: t / (2 * out),),
    formula=(lambda a, out: 1 / (2 * _sp().sqrt(a)),), symbolic=lambda a: _sp().sqrt(a),
    saves=("out",),
    doc="square root")

Abs = Op(
    "abs", np.abs, elementwise=True,
    vjp=(lambda g, a, out: g * rm.sign(a),), jvp=(lambda t, a, out: t * rm.sign(a),),
    formula=(lambda a, out: _sp().sign(a),), symbolic=lambda a: _sp().Abs(a),
    saves=("a",),
    doc="|a|; the derivative at 0 is 0 (as PyTorch)")

Tanh = Op(
    "tanh", _with_math(np.tanh, math.tanh), elementwise=True,
    vjp=(lambda g, a, out: g * (1 - out * out),), jvp=(lambda t, a, out: t * (1 - out * out),),
    formula=(lambda a, out: 1 - _sp().tanh(a) ** 2,), symbolic=lambda a: _sp().tanh(a),
    saves=("out",),
    doc="hyperbolic tangent; tanh' = 1 − tanh²")


def _sigmoid_forward(a: np.ndarray) -> np.ndarray:
    t = type(a)
    if t is float:  # a float64 number (the scalar fast path): as below, without conversions
        if a >= 0:
            return 1 / (1 + math.exp(-a))
        e = math.exp(a)
        return e / (1 + e)
    if t is np.ndarray and not a.ndim:
        a = a[()]  # a 0-d array takes the same path as a scalar
        t = type(a)
    if t is np.float64 or t is np.float32:  # one number: math is ~10x cheaper than ufuncs
        v = float(a)
        if v >= 0:
            return t(1 / (1 + math.exp(-v)))
        e = math.exp(v)
        return t(e / (1 + e))
    e = np.exp(-np.abs(a))
    out_dtype = a.dtype if a.dtype.kind == "f" else e.dtype  # ints: float, as np.exp
    d = e + 1
    out = np.asarray(1 / d)                       # a >= 0: 1 / (1 + e^-|a|) (0-d int a: array)
    np.divide(e, d, out=out, where=a < 0)         # a < 0:  e^-|a| / (1 + e^-|a|)
    return out.astype(out_dtype, copy=False)


def _sym_sigmoid(a):
    sp = _sp()
    return 1 / (1 + sp.exp(-a))


Sigmoid = Op(
    "sigmoid", _sigmoid_forward, elementwise=True, symbol="σ",
    vjp=(lambda g, a, out: g * (out * (1 - out)),), jvp=(lambda t, a, out: t * (out * (1 - out)),),
    formula=(lambda a, out: _sym_sigmoid(a) * (1 - _sym_sigmoid(a)),), symbolic=_sym_sigmoid,
    saves=("out",),
    doc="logistic sigmoid 1/(1+e^−a), computed stably; σ' = σ(1 − σ) ≤ 1/4")

Relu = Op(
    "relu", lambda a: np.maximum(a, 0).astype(a.dtype, copy=False), elementwise=True,
    vjp=(lambda g, a, out: rm.where(a > 0, g, 0),), jvp=(lambda t, a, out: rm.where(a > 0, t, 0),),
    formula=(lambda a, out: _sp().Heaviside(a, 0),), symbolic=lambda a: _sp().Max(a, 0),
    saves=("a",),
    doc="max(a, 0); relu'(0) = 0 (as PyTorch)")

LeakyRelu = Op(
    "leaky_relu", lambda a, slope: np.where(a > 0, a, a * slope), elementwise=True,
    vjp=(lambda g, a, out, slope: rm.where(a > 0, g, g * slope),),
    jvp=(lambda t, a, out, slope: rm.where(a > 0, t, t * slope),),
    formula=(lambda a, out, slope: _sp().Piecewise((1, a > 0), (slope, True)),),
    symbolic=lambda a, slope: _sp().Piecewise((a, a > 0), (slope * a, True)),
    saves=("a",),
    doc="a if a > 0 else slope·a; derivative slope at 0 (as PyTorch)")


def _tie_share(a, b, like):
    """1 where a wins, 1/2 on ties, 0 where b wins, in the dtype of ``like``."""
    av, bv = rm.const(a), rm.const(b)
    return rm.mask(av > bv, like) + 0.5 * rm.mask(av == bv, like)


Maximum = Op(
    "maximum", np.maximum, args=("a", "b"), broadcasts=True, elementwise=True, symbol="max",
    vjp=(lambda g, a, b, out: g * _tie_share(a, b, g),
         lambda g, a, b, out: g * _tie_share(b, a, g)),
    jvp=(lambda t, a, b, out: t * _tie_share(a, b, t),
         lambda t, a, b, out: t * _tie_share(b, a, t)),
    formula=(lambda a, b, out: _sp().Heaviside(a - b, _sp().Rational(1, 2)),
             lambda a, b, out: _sp().Heaviside(b - a, _sp().Rational(1, 2))),
    symbolic=lambda a, b: _sp().Max(a, b),
    saves=("a", "b"),
    doc="elementwise max; ties split the gradient evenly (as torch.maximum)")

Where = Op(
    "where", np.where, args=("cond", "a", "b"), broadcasts=True, elementwise=True,
    vjp=(None, lambda g, c, a, b, out: rm.where(c, g, 0),
         lambda g, c, a, b, out: rm.where(c, 0, g)),
    jvp=(None, lambda t, c, a, b, out: rm.where(c, t, 0),
         lambda t, c, a, b, out: rm.where(c, 0, t)),
    formula=(None, Template("[{cond}]", r"[{cond}]", "diagonal"),
             Template("[not {cond}]", r"[\lnot {cond}]", "diagonal")),
    saves=("cond",),
    doc="a where cond else b (cond gets no gradient)")

Cast = Op(
    "cast", lambda a, dtype: a.astype(dtype), elementwise=True,
    vjp=(lambda g, a, out, dtype: rm.cast(g, rm.const(a).dtype),),
    jvp=(lambda t, a, out, dtype: rm.cast(t, dtype),),
    formula=(lambda a, out, dtype: 1,), symbolic=lambda a, dtype: a,
    saves=(),
    doc="dtype conversion; the gradient is converted back")


# ----- the functions users call -----------------------------------------------------------
def add(a: Any, b: Any) -> Tensor:
    """a + b (broadcasting)."""
    return binary(Add, a, b)


def sub(a: Any, b: Any) -> Tensor:
    """a − b (broadcasting)."""
    return binary(Sub, a, b)


def mul(a: Any, b: Any) -> Tensor:
    """a · b elementwise (broadcasting)."""
    return binary(Mul, a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b elementwise (broadcasting)."""
    return binary(Div, a, b)


def neg(a: Any) -> Tensor:
    """−a."""
    return unary(Neg, a)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001
    """a**b; a Python-int exponent is the integer-power primitive ``powi``."""
    if type(b) is int and isinstance(a, Tensor):
        d = a._d
        if type(d) is np.ndarray and not d.ndim and d.dtype is _F64D:
            d = d.item()
        if type(d) is float:  # a float64 number: apply(PowI) on the scalar path, inline
            out = d * d if b == 2 else _powi_forward(d, b)
            if type(out) is not float:
                out = float(out)
            attrs = _POWI_ATTRS.get(b)
            if attrs is None:
                attrs = {"n": b}
            if not a.requires_grad or HOOKS or (STATE.grad_off and not MODES.grad_enabled):
                return record_result(PowI, (a,), attrs, out, a.requires_grad)
            result = _new(Tensor)  # record_result, inline: a recorded float
            result._d = out
            result.requires_grad = True
            result._op = PowI
            result._ins = (a,)
            result._attrs = attrs
            result._grad = result.name = None
            result._seq = _next_seq()
            result._freed = False
            return result
        return apply(PowI, (a,), {"n": b})
    if isinstance(a, Tensor) and (type(b) is int or isinstance(b, np.integer)):
        return apply(PowI, (a,), {"n": int(b)})
    return binary(Pow, a, b)


_F64D = np.dtype(np.float64)
_new = object.__new__
_next_seq = _SEQ.__next__
#: powi's attributes for the common exponents, one dict each, shared by the nodes (read only)
_POWI_ATTRS = {n: {"n": n} for n in range(-4, 5)}


def exp(a: Any) -> Tensor:
    """e**a."""
    return unary(Exp, a)


def log(a: Any) -> Tensor:
    """ln a."""
    return unary(Log, a)


def sqrt(a: Any) -> Tensor:
    """√a."""
    return unary(Sqrt, a)


def abs(a: Any) -> Tensor:  # noqa: A001
    """|a| (derivative sign(a), 0 at 0)."""
    return unary(Abs, a)


def tanh(a: Any) -> Tensor:
    """tanh a; d/da = 1 − tanh² a."""
    return unary(Tanh, a)


def sigmoid(a: Any) -> Tensor:
    """σ(a) = 1/(1 + e^−a); σ' = σ(1 − σ)."""
    return unary(Sigmoid, a)


def relu(a: Any) -> Tensor:
    """max(a, 0); relu'(0) = 0."""
    return unary(Relu, a)


def leaky_relu(a: Any, negative_slope: float = 0.01) -> Tensor:
    """a if a > 0 else negative_slope·a."""
    return apply(LeakyRelu, (as_input(a),), {"slope": float(negative_slope)})


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max(a, b); ties split the gradient evenly."""
    return binary(Maximum, a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min(a, b); ties split the gradient evenly."""
    return binary(Minimum, a, b)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """a where cond holds, else b (broadcasting; cond gets no gradient)."""
    c = rm.const(cond).astype(bool, copy=False)
    if not isinstance(a, Tensor):
        a = as_input(a, like=b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = as_input(b, like=a)
    try:
        return apply(Where, (Tensor._from_op(c, None), a, b), {})
    except ValueError as e:
        raise ValueError(f"where: shapes {c.shape}, {a.shape} and {b.shape} cannot be broadcast "
                         "together") from e


def cast(a: Tensor, dtype: np.dtype) -> Tensor:
    """Convert to ``dtype``."""
    if a.dtype == dtype:
        return a
    return apply(Cast, (a,), {"dtype": np.dtype(dtype)})


# ----- trigonometric, log1p/expm1, softplus, square, minimum, clamp -------------------------
def _sin(x: Any) -> Any:
    """sin x on ndarrays and NumPy scalars; recorded (``Tensor.sin``) on Tensors."""
    return x.sin() if isinstance(x, Tensor) else np.sin(x)


def _cos(x: Any) -> Any:
    """cos x on ndarrays and NumPy scalars; recorded (``Tensor.cos``) on Tensors."""
    return x.cos() if isinstance(x, Tensor) else np.cos(x)


Sin = Op(
    "sin", _with_math(np.sin, math.sin), elementwise=True,
    vjp=(lambda g, a, out: g * _cos(a),), jvp=(lambda t, a, out: t * _cos(a),),
    formula=(lambda a, out: _sp().cos(a),), symbolic=lambda a: _sp().sin(a),
    saves=("a",),
    doc="sine; sin' = cos")

Cos = Op(
    "cos", _with_math(np.cos, math.cos), elementwise=True,
    vjp=(lambda g, a, out: -(g * _sin(a)),), jvp=(lambda t, a, out: -(t * _sin(a)),),
    formula=(lambda a, out: -_sp().sin(a),), symbolic=lambda a: _sp().cos(a),
    saves=("a",),
    doc="cosine; cos' = −sin")

Log1p = Op(
    "log1p", _with_math(np.log1p, math.log1p), elementwise=True,
    vjp=(lambda g, a, out: g / (1 + a),), jvp=(lambda t, a, out: t / (1 + a),),
    formula=(lambda a, out: 1 / (1 + a),), symbolic=lambda a: _sp().log(1 + a),
    saves=("a",),
    doc="ln(1 + a), accurate for small a; d/da = 1/(1 + a)")

Expm1 = Op(
    "expm1", _with_math(np.expm1, math.expm1), elementwise=True,
    vjp=(lambda g, a, out: g * (out + 1),), jvp=(lambda t, a, out: t * (out + 1),),
    formula=(lambda a, out: _sp().exp(a),), symbolic=lambda a: _sp().exp(a) - 1,
    saves=("out",),
    doc="e**a − 1, accurate for small a; d/da = e**a = out + 1")

SOFTPLUS_THRESHOLD = 20.0  # above it softplus(a) = a and its derivative is 1 (as PyTorch)


def _softplus_forward(a: Any) -> Any:
    """ln(1 + e^a) = ln(1 + e^−|a|) + max(a, 0), and a itself above the threshold."""
    t = type(a)
    if t is float:  # a float64 number (the scalar fast path)
        if a > SOFTPLUS_THRESHOLD:
            return a
        return math.log1p(math.exp(-math.fabs(a))) + (a if a > 0 else 0.0)
    if t is np.ndarray and not a.ndim:
        a = a[()]  # a 0-d array takes the same path as a scalar
        t = type(a)
    if t is np.float64 or t is np.float32:  # one number: math is ~10x cheaper than ufuncs
        v = float(a)
        if v > SOFTPLUS_THRESHOLD:
            return a
        return t(math.log1p(math.exp(-math.fabs(v))) + (v if v > 0 else 0.0))
    stable = np.log1p(np.exp(-np.abs(a))) + np.maximum(a, 0)
    return np.where(a > SOFTPLUS_THRESHOLD, a, stable).astype(stable.dtype, copy=False)


def _sym_softplus(a):
    sp = _sp()
    return sp.log(1 + sp.exp(a))


Softplus = Op(
    "softplus", _softplus_forward, elementwise=True,
    # σ(a) = e^(a − softplus(a)): no overflow for a ≪ 0, and exactly 1 above the threshold
    vjp=(lambda g, a, out: g * rm.exp(a - out),), jvp=(lambda t, a, out: t * rm.exp(a - out),),
    formula=(lambda a, out: _sym_sigmoid(a),), symbolic=_sym_softplus,
    saves=("a", "out"),
    doc="ln(1 + e^a), computed stably as ln(1 + e^−|a|) + max(a, 0); softplus' = σ(a) = "
        "e^(a − softplus(a)) (as PyTorch with beta=1, threshold=20: a and derivative 1 above 20)")

Square = Op(
    "square", lambda a: a * a, elementwise=True, symbol="²",
    vjp=(lambda g, a, out: g * (2 * a),), jvp=(lambda t, a, out: t * (2 * a),),
    formula=(lambda a, out: 2 * a,), symbolic=lambda a: a**2,
    saves=("a",),
    doc="a²; d/da = 2a (``a ** 2`` stays the integer power powi)")

Minimum = Op(
    "minimum", np.minimum, args=("a", "b"), broadcasts=True, elementwise=True, symbol="min",
    vjp=(lambda g, a, b, out: g * _tie_share(b, a, g),
         lambda g, a, b, out: g * _tie_share(a, b, g)),
    jvp=(lambda t, a, b, out: t * _tie_share(b, a, t),
         lambda t, a, b, out: t * _tie_share(a, b, t)),
    formula=(lambda a, b, out: _sp().Heaviside(b - a, _sp().Rational(1, 2)),
             lambda a, b, out: _sp().Heaviside(a - b, _sp().Rational(1, 2))),
    symbolic=lambda a, b: _sp().Min(a, b),
    saves=("a", "b"),
    doc="elementwise min; ties split the gradient evenly (as torch.minimum)")


def _clamp_forward(a: Any, min: Any, max: Any) -> Any:  # noqa: A002
    """min(max(a, min), max), either bound optional; NaN stays NaN."""
    t = type(a)
    if t is np.ndarray and not a.ndim:
        a = a[()]
        t = type(a)
    if t is np.float64 or t is np.float32:
        if min is not None and a < min:
            a = t(min)
        if max is not None and a > max:
            a = t(max)
        return a
    return np.clip(a, min, max)


def _inside(a: Any, lo: Any, hi: Any) -> np.ndarray:
    """The constant mask lo ≤ a ≤ hi (a missing bound always holds; NaN is outside)."""
    av = rm.const(a)
    if lo is None:
        return av <= hi
    if hi is None:
        return av >= lo
    return (av >= lo) & (av <= hi)


def _sym_clamp(a, min=None, max=None):  # noqa: A002
    """Min(Max(a, min), max) in SymPy (the bounds as exact numbers)."""
    sp = _sp()
    if min is not None:
        a = sp.Max(a, sp.nsimplify(min))
    return a if max is None else sp.Min(a, sp.nsimplify(max))


def _sym_clamp_slope(a, min=None, max=None):  # noqa: A002
    """1 for min ≤ a ≤ max, else 0, in SymPy."""
    sp = _sp()
    inside = sp.true
    if min is not None:
        inside = inside & (a >= sp.nsimplify(min))
    if max is not None:
        inside = inside & (a <= sp.nsimplify(max))
    return sp.Piecewise((1, inside), (0, True))


Clamp = Op(
    "clamp", _clamp_forward, elementwise=True, symbol="clamp",
    vjp=(lambda g, a, out, min, max: rm.where(_inside(a, min, max), g, 0),),
    jvp=(lambda t, a, out, min, max: rm.where(_inside(a, min, max), t, 0),),
    formula=(lambda a, out, min, max: _sym_clamp_slope(a, min, max),),
    symbolic=_sym_clamp,
    saves=("a",),
    doc="min(max(a, min), max), either bound optional; derivative 1 for min ≤ a ≤ max (the "
        "bounds included) and 0 outside (as torch.clamp)")


def sin(a: Any) -> Tensor:
    """sin a; d/da = cos a."""
    return unary(Sin, a)


def cos(a: Any) -> Tensor:
    """cos a; d/da = −sin a."""
    return unary(Cos, a)


def log1p(a: Any) -> Tensor:
    """ln(1 + a); d/da = 1/(1 + a)."""
    return unary(Log1p, a)


def expm1(a: Any) -> Tensor:
    """e**a − 1; d/da = e**a."""
    return unary(Expm1, a)


def softplus(a: Any) -> Tensor:
    """softplus(a) = ln(1 + e^a) (stable; a above 20, as PyTorch); d/da = σ(a)."""
    return unary(Softplus, a)


def square(a: Any) -> Tensor:
    """a²; d/da = 2a."""
    return unary(Square, a)


def clamp(a: Any, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """min(max(a, min), max), either bound optional; d/da = 1 for min ≤ a ≤ max, else 0."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return apply(Clamp, (as_input(a),), {"min": _bound(min), "max": _bound(max)})


clip = clamp


def _bound(v: Any) -> int | float | None:
    """A clamp bound as a Python number (ints stay ints, so integer tensors stay integer)."""
    if v is None:
        return None
    if isinstance(v, Tensor):
        v = v.item()
    return int(v) if isinstance(v, int | np.integer) and not isinstance(v, bool) else float(v)


rm.REGISTERED["where"] = where

# The ops whose forward and vjp rules take float64 numbers as Python floats (see base.binary):
# their arithmetic is + − × ÷ (NumPy's, bit for bit) or NumPy/math functions that the scalar
# path called before; a rule that divides by zero or overflows on floats is rerun on NumPy
# scalars (autodiff.backprop), so values and warnings stay NumPy's.
for _op in (Add, Sub, Mul, Div, Neg, PowI, Exp, Log, Sqrt, Tanh, Sigmoid, Sin, Cos, Log1p,
            Expm1, Softplus, Square):
    _op.floats = True
del _op
