"""``Module``: a container of parameters and sub-modules, with PyTorch's interface.

Attributes holding a leaf Tensor that requires grad are parameters; attributes holding a Module
are children.  Both are found by name in assignment order, so ``named_parameters()`` yields dotted
names such as ``"0.weight"``, exactly as ``torch.nn`` does for the same structure.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..tensor import Tensor

__all__ = ["Module", "Parameter", "StateDictError", "LoadResult"]


class Parameter(Tensor):
    """A Tensor meant as a module parameter: a leaf that requires grad (data not copied)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None):
        super().__init__(data.data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad, name=name)


class StateDictError(ValueError):
    """A state dict that does not fit the module: missing, unexpected or mismatched entries."""


class LoadResult(NamedTuple):
    """Keys ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _is_param(value: Any) -> bool:
    return isinstance(value, Tensor) and value.requires_grad and value.is_leaf


class Module:
    """Base class of layers and models: parameters, children, state dicts, train/eval."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ----- registration ----------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:
            if isinstance(value, (Tensor, Module)):
                raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                     f"assigning parameters or sub-modules")
            object.__setattr__(self, name, value)
            return
        modules = self.__dict__["_modules"]
        if _is_param(value):                  # (a replaced entry keeps its place, as torch)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
        else:
            params.pop(name, None)
            modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        """Add a parameter (None leaves the attribute as None, e.g. a layer without bias)."""
        if param is not None and not _is_param(param):
            raise TypeError(f"parameter {name!r} must be a leaf Tensor with requires_grad=True")
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module")
        setattr(self, name, module)

    # ----- traversal -------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their names."""
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, with dotted names ("" for self)."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, parameter) pairs in registration order; shared ones appear once."""
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mname, m in mods:
            for pname, p in m._parameters.items():
                if id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every parameter (each once)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def num_parameters(self) -> int:
        """Total number of scalar parameters Σ_p size(p)."""
        return sum(p.data.size for p in self.parameters())

    # ----- state -----------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """name → a private copy of each parameter's array."""
        return OrderedDict((n, np.array(p.data, copy=True)) for n, p in self.named_parameters())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy values in by name; names, shapes and dtypes are checked (strict: all names)."""
        own = OrderedDict(self.named_parameters())
        given = {k: (v.data if isinstance(v, Tensor) else np.asarray(v))
                 for k, v in state_dict.items()}
        missing = [k for k in own if k not in given]
        unexpected = [k for k in given if k not in own]
        mismatched = []
        for k, p in own.items():
            if k in given:
                v = given[k]
                if v.shape != p.data.shape or v.dtype != p.data.dtype:
                    mismatched.append(f"{k}: expected {p.data.dtype} {p.data.shape}, "
                                      f"got {v.dtype} {v.shape}")
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("mismatched: " + "; ".join(mismatched))
        if problems:
            raise StateDictError(f"cannot load state dict into {type(self).__name__}: "
                                 + " | ".join(problems))
        for k, p in own.items():
            if k in given:
                p.data = np.array(given[k], copy=True, order="C")
        return LoadResult(missing, unexpected)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: ``p.grad = None`` (or zeros) for every parameter."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def to(self, dtype: Any) -> Module:
        """Convert every parameter to ``dtype`` in place (gradients are dropped); returns self."""
        dt = np.dtype({"float": "float32", "double": "float64"}.get(dtype, dtype)
                      if isinstance(dtype, str) else dtype)
        if dt.kind != "f":
            raise TypeError(f"Module.to: expected a floating dtype, got {dt}")
        for p in self.parameters():
            p.data = p.data.astype(dt)
            p.grad = None
        return self

    def double(self) -> Module:
        """Parameters to float64."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Parameters to float32."""
        return self.to(np.float32)

    # ----- modes and calling -----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every descendant; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``)."""
        return self.train(False)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every descendant, then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Sequential.forward calls m.forward(x) itself for modules whose class keeps this
        # __call__ (one frame less per layer): anything added here must be added there too.
        return self.forward(*args, **kwargs)

    # ----- printing ------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (e.g. sizes)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
