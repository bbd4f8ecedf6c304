"""The op table: every primitive defined once (forward, vjp, jvp, local-derivative formula).

``OPS`` maps each op's name to its :class:`Op` entry; the functions below build tensors with them.
"""

from . import tensor_methods  # noqa: F401  (installs Tensor's operators and op methods)
from .base import HOOKS, OPS, Op, Template, apply, as_input
from .elementwise import (
    abs,
    add,
    cast,
    clamp,
    clip,
    cos,
    div,
    exp,
    expm1,
    leaky_relu,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    square,
    sub,
    tanh,
    where,
)
from .linalg import linear, matmul
from .nn import cross_entropy, log_softmax, softmax
from .reduce import (
    MaxResult,
    MinResult,
    amax,
    amin,
    argmax,
    argmin,
    max,
    mean,
    min,
    norm,
    std,
    sum,
    var,
)
from .shape import (
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    reshape,
    scatter_add,
    setitem,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
)

__all__ = [
    "HOOKS", "OPS", "Op", "Template", "apply", "as_input",
    "MaxResult", "MinResult", "amax", "amin", "min", "setitem",
    "abs", "add", "broadcast_to", "cast", "concatenate", "cross_entropy", "div", "exp",
    "expand_dims", "getitem", "leaky_relu", "linear", "log", "log_softmax", "matmul", "max",
    "maximum", "mean", "minimum", "mul", "neg", "pow", "relu", "reshape", "scatter_add",
    "sigmoid", "softmax", "sqrt", "squeeze", "stack", "sub", "sum", "swapaxes", "tanh",
    "transpose", "where",
    "clamp", "clip", "cos", "expm1", "log1p", "sin", "softplus", "square",
    "argmax", "argmin", "var", "std", "norm", "flatten", "unsqueeze",
]
