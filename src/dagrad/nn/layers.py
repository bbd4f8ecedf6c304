"""Layers: ``Linear`` (PyTorch's layout and init), activations, ``Sequential``, loss modules."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
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
    "ModuleList",
    "ModuleDict",
    "Dropout",
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
    """y = x (arguments are accepted and ignored, as ``torch.nn.Identity``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Axes start_dim … end_dim merged: (N, d1, d2, ...) → (N, d1·d2·...) by default, as
    ``torch.nn.Flatten(start_dim=1, end_dim=-1)``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x: Any) -> Tensor:
        return ops.flatten(ops.as_input(x), self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout in training mode (x · m / (1 − p), m ~ Bernoulli(1 − p) drawn from
    dagrad's generator), the identity after ``eval()``."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        if inplace:
            raise ValueError("Dropout: inplace=True is not supported; use the returned tensor")
        self.p = float(p)
        self.inplace = False

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


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


def _index(index: Any, n: int, what: str) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{what} indices must be integers or slices, not {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"{what} index {index} out of range for {n} modules")
    return int(index) % n


class ModuleList(Module):
    """A list of modules whose parameters the owner registers (``"0.weight"``, …), as
    ``torch.nn.ModuleList``: index, slice, iterate, append, extend, insert, del."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, items: list[Module]) -> None:
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: {type(module).__name__} is not a Module")
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of ``modules``; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend takes an iterable of modules, not a Module")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: {type(module).__name__} is not a Module")
        items = list(self._modules.values())
        items.insert(index, module)
        self._renumber(items)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        return items[_index(index, len(items), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: {type(module).__name__} is not a Module")
        self.add_module(str(_index(index, len(self._modules), "ModuleList")), module)

    def __delitem__(self, index: int | slice) -> None:
        items = list(self._modules.values())
        if isinstance(index, slice):
            del items[index]
        else:
            del items[_index(index, len(items), "ModuleList")]
        self._renumber(items)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(): iterate over its modules")


class ModuleDict(Module):
    """Modules by name, registered in insertion order (``"name.weight"``), as
    ``torch.nn.ModuleDict``: [], in, keys, values, items, update, pop, clear."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r} (it has "
                           f"{', '.join(self._modules) or 'none'})")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings, got {type(key).__name__}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {type(module).__name__} is not a Module")
        if "." in key or not key:
            raise KeyError(f"ModuleDict: module name {key!r} must be non-empty without '.'")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self[key]                                   # a clear KeyError first
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        """The names, in insertion order."""
        return list(self._modules)

    def values(self) -> list[Module]:
        """The modules, in insertion order."""
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        """(name, module) pairs, in insertion order."""
        return list(self._modules.items())

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or (name, module) pairs."""
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError("ModuleDict.update takes a mapping or (name, module) pairs")
            self[pair[0]] = pair[1]

    def pop(self, key: str) -> Module:
        """Remove the module ``key`` and return it."""
        m = self[key]
        del self[key]
        return m

    def clear(self) -> None:
        """Remove every module."""
        for k in list(self._modules):
            delattr(self, k)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(): call its modules by name")
