"""Layers: ``Linear`` (PyTorch's layout and init), activations, ``Sequential``, loss modules."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import ops
from ..tensor import STATE, Tensor, _resolve_dtype
from . import functional as F
from . import init as nninit
from .module import Module, Parameter

__all__ = [
    "Linear",
    "Identity",
    "Flatten",
    "Tanh",
    "Sigmoid",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "LogSoftmax",
    "Sequential",
    "CrossEntropyLoss",
    "NLLLoss",
    "INITS",
]

_MODULE_CALL = Module.__call__

#: Names accepted by ``Linear(init=...)`` and ``MLP(init=...)``.
INITS = ("default", "xavier", "he")


class Linear(Module):
    """y = x Wᵀ + b with W of shape (out, in), as ``torch.nn.Linear``; x is (in,) or (N, in).

    ``init``: "default" is PyTorch's kaiming_uniform(a=√5), i.e. W ~ U(−1/√in, 1/√in);
    "xavier" is Glorot uniform U(−a, a), a = √(6/(in+out)); "he" is Kaiming normal
    N(0, 2/in).  The bias is U(−1/√in, 1/√in) (PyTorch's) unless ``zero_bias``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "default", zero_bias: bool = False, dtype: Any = None,
                 generator: np.random.Generator | None = None, seed: int | None = None):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"Linear: init must be one of {', '.join(INITS)}, got {init!r}")
        if int(in_features) < 1 or int(out_features) < 1:
            raise ValueError(f"Linear: sizes must be positive, got ({in_features}, "
                             f"{out_features})")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        dt = _resolve_dtype(dtype) or STATE.default_dtype
        rng = nninit.resolve_generator(generator, seed)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dt))
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), dt))
        else:
            self.bias = None
        self.reset_parameters(rng, zero_bias)

    def reset_parameters(self, generator: np.random.Generator | None = None,
                         zero_bias: bool = False) -> None:
        """Draw W by ``self.init`` and b ~ U(−1/√in, 1/√in) (or zeros)."""
        rng = nninit.resolve_generator(generator)
        if self.init == "default":
            nninit.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=rng)
        elif self.init == "xavier":
            nninit.xavier_uniform_(self.weight, generator=rng)
        else:
            nninit.kaiming_normal_(self.weight, mode="fan_in", nonlinearity="relu",
                                   generator=rng)
        if self.bias is not None:
            if zero_bias:
                nninit.zeros_(self.bias)
            else:
                bound = 1.0 / math.sqrt(self.in_features)
                nninit.uniform_(self.bias, -bound, bound, generator=rng)

    def forward(self, x: Any) -> Tensor:
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """y = x."""

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """(N, d1, d2, ...) → (N, d1·d2·...) (as ``torch.nn.Flatten`` with its defaults)."""

    def forward(self, x: Any) -> Tensor:
        x = ops.as_input(x)
        return x.reshape(x.shape[0], -1)


class Tanh(Module):
    """y = tanh(x), elementwise; dy/dx = 1 − y²."""

    def forward(self, x: Any) -> Tensor:
        return ops.tanh(x)


class Sigmoid(Module):
    """y = 1 / (1 + e^−x), elementwise; dy/dx = y(1 − y)."""

    def forward(self, x: Any) -> Tensor:
        return ops.sigmoid(x)


class ReLU(Module):
    """y = max(x, 0), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.relu(x)


class LeakyReLU(Module):
    """y = x if x > 0 else slope·x, elementwise."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """y_i = e^{x_i} / Σ_j e^{x_j} along ``axis``; Jacobian diag(y) − y yᵀ."""

    def __init__(self, axis: int = -1, *, dim: int | None = None):
        super().__init__()
        self.axis = dim if dim is not None else axis

    def forward(self, x: Any) -> Tensor:
        return ops.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"


class LogSoftmax(Module):
    """y = x − log Σ_j e^{x_j} along ``axis``."""

    def __init__(self, axis: int = -1, *, dim: int | None = None):
        super().__init__()
        self.axis = dim if dim is not None else axis

    def forward(self, x: Any) -> Tensor:
        return ops.log_softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"


class Sequential(Module):
    """Modules applied in order, x ↦ f_n(…f_1(x)); indexable, sliceable and iterable."""

    def __init__(self, *modules: Module | OrderedDict):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: item {i} is a {type(m).__name__}, not a Module")
                self.add_module(str(i), m)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        n = len(items)
        if not -n <= index < n:
            raise IndexError(f"Sequential index {index} out of range for {n} modules")
        return items[index][1]

    def forward(self, x: Any) -> Any:
        call = _MODULE_CALL
        for m in self._modules.values():
            # m(x) is m.forward(x) unless m's class defines its own __call__: skip that frame
            x = m.forward(x) if type(m).__call__ is call else m(x)
        return x


class CrossEntropyLoss(Module):
    """L = mean_i −log softmax(logits_i)[y_i] (fused, stable)."""

    def forward(self, logits: Any, labels: Any) -> Tensor:
        return F.cross_entropy(logits, labels)


class NLLLoss(Module):
    """L = mean_i −log_probs[i, y_i]."""

    def forward(self, log_probs: Any, labels: Any) -> Tensor:
        return F.nll_loss(log_probs, labels)
