"""dagrad — backpropagation you can see and trust.

A reverse- and forward-mode autodiff engine on NumPy that records the DAG, labels its edges with
local derivatives, explains gradients as Jacobian chains, and trains real networks fast.
Heavy helpers (SymPy, Graphviz, matplotlib) are imported only when used.
"""

from __future__ import annotations

from . import inplace, ops  # noqa: F401  (inplace installs the in-place methods)
from .autodiff import grad as autograd_grad
from .functional import (
    GradcheckError,
    grad,
    gradcheck,
    hessian,
    jacobian,
    jvp,
    value_and_grad,
    vjp,
)
from .limits import MemoryLimitError, dense_limit, set_dense_limit
from .ops import (
    MaxResult,
    MinResult,
    abs,
    amax,
    amin,
    argmax,
    argmin,
    broadcast_to,
    clamp,
    clip,
    concatenate,
    cos,
    cross_entropy,
    exp,
    expand_dims,
    expm1,
    flatten,
    leaky_relu,
    linear,
    log,
    log1p,
    log_softmax,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    norm,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sum,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .tensor import (
    Tensor,
    arange,
    as_tensor,
    default_generator,
    enable_grad,
    eye,
    full,
    get_default_dtype,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    manual_seed,
    no_grad,
    ones,
    ones_like,
    rand,
    randn,
    set_default_dtype,
    set_grad_enabled,
    tensor,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

concat = concatenate
cat = concatenate  # PyTorch's name
float32 = "float32"
float64 = "float64"




def __getattr__(name: str):
    """Import the heavier subpackages on first use (``dg.nn``, ``dg.data``, ``dg.explain``...)."""
    import importlib

    if name in ("nn", "optim", "data", "explain", "training", "interop", "onnx",
                "check"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("trace", "graph", "Graph"):
        mod = importlib.import_module(".dag", __name__)
        return getattr(mod, name)
    if name in ("compile",):
        return importlib.import_module(".compiler", __name__).compile
    if name in ("SymbolicLimitError", "SymbolicLimitWarning", "GraphTooLargeError"):
        return getattr(importlib.import_module(".dag.limit", __name__), name)
    if name in ("save", "load"):
        return getattr(importlib.import_module(".serialization", __name__), name)
    if name in ("vmap",):  # the submodule's import sets dagrad.vmap to the module: replace it
        fn = importlib.import_module(".vmap", __name__).vmap
        globals()["vmap"] = fn
        return fn
    if name in ("detect_anomaly",):
        return importlib.import_module(".anomaly", __name__).detect_anomaly
    raise AttributeError(f"module 'dagrad' has no attribute {name!r}")


__all__ = [
    "Tensor", "tensor", "as_tensor", "zeros", "ones", "full", "zeros_like", "ones_like", "randn",
    "rand", "arange", "eye", "no_grad", "enable_grad", "is_grad_enabled", "set_default_dtype",
    "get_default_dtype", "manual_seed", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu",
    "leaky_relu", "softmax", "log_softmax", "cross_entropy", "matmul", "linear", "sum", "mean",
    "max", "min", "amax", "amin", "MaxResult", "MinResult", "maximum", "minimum",
    "set_grad_enabled", "inference_mode", "is_inference_mode_enabled", "where", "stack",
    "concatenate", "concat", "reshape",
    "transpose", "swapaxes", "broadcast_to", "expand_dims", "squeeze", "grad", "value_and_grad",
    "vjp", "jvp", "jacobian", "hessian", "gradcheck", "GradcheckError", "autograd_grad", "ops",
    "set_dense_limit", "dense_limit", "MemoryLimitError", "__version__",
    "sin", "cos", "log1p", "expm1", "softplus", "square", "clamp", "clip",
    "cat", "argmax", "argmin", "var", "std", "norm", "flatten", "unsqueeze", "default_generator",
]
