"""dagrad modules and state dicts to PyTorch and back (same architecture, weights, outputs)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._torch import require_torch
from .architecture import (
    TORCH_NAMED_ELEMENTWISE,
    ConversionError,
    _check,
    architecture,
    from_spec,
    module_spec,
    supported_layers,
)

__all__ = ["to_torch", "from_torch", "state_dict_to_torch", "state_dict_from_torch",
           "torch_from_architecture", "torch_architecture"]


def state_dict_to_torch(state_dict: Mapping[str, Any]) -> OrderedDict[str, Any]:
    """name → torch.Tensor (a copy of each array, same dtype and shape)."""
    torch = require_torch()
    out: OrderedDict[str, Any] = OrderedDict()
    for k, v in state_dict.items():
        arr = np.asarray(getattr(v, "data", v)) if not isinstance(v, np.ndarray) else v
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"state_dict_to_torch: entry {k!r} has dtype {arr.dtype}, not a "
                            "number array")
        out[k] = torch.from_numpy(np.array(arr, copy=True, order="C"))
    return out


def state_dict_from_torch(state_dict: Mapping[str, Any]) -> OrderedDict[str, np.ndarray]:
    """name → ndarray (a copy of each torch tensor, same dtype and shape)."""
    torch = require_torch()
    out: OrderedDict[str, np.ndarray] = OrderedDict()
    for k, v in state_dict.items():
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"state_dict_from_torch: entry {k!r} is a {type(v).__name__}, not a "
                            "torch.Tensor")
        out[k] = v.detach().cpu().numpy().copy()
    return out


def _torch_elementwise_class(torch: Any) -> type:
    """torch.nn.Module applying a named elementwise function (dagrad's nn.Elementwise)."""

    class Elementwise(torch.nn.Module):
        """y = φ(x) for a named elementwise function φ (torch.φ or torch.nn.functional.φ)."""

        def __init__(self, name: str):
            super().__init__()
            self.name = name
            fn = getattr(torch, name, None) or getattr(torch.nn.functional, name, None)
            if fn is None:
                raise ConversionError(f"dg.interop: PyTorch has no function {name!r}")
            self._fn = fn

        def forward(self, x: Any) -> Any:
            return self._fn(x)

        def extra_repr(self) -> str:
            return self.name

    return Elementwise


def _torch_build(spec: dict[str, Any], torch: Any, where: str) -> Any:
    kind, args = spec.get("type"), dict(spec.get("args", {}))
    nn = torch.nn
    if kind == "Sequential":
        return nn.Sequential(OrderedDict(
            (c["name"], _torch_build(c, torch, f"{where}.{c['name']}".lstrip(".")))
            for c in spec.get("children", [])))
    if kind == "ModuleList":
        return nn.ModuleList([_torch_build(c, torch, f"{where}.{c['name']}".lstrip("."))
                              for c in spec.get("children", [])])
    if kind == "ModuleDict":
        return nn.ModuleDict(OrderedDict(
            (c["name"], _torch_build(c, torch, f"{where}.{c['name']}".lstrip(".")))
            for c in spec.get("children", [])))
    if kind == "Elementwise":
        return _torch_elementwise_class(torch)(args["name"])
    cls = getattr(nn, kind, None) if isinstance(kind, str) else None
    if cls is None:
        raise ConversionError(f"dg.interop: layer type {kind!r} (at {where!r}) is not a torch.nn "
                              "module")
    return cls(**args)


def torch_from_architecture(arch: dict[str, Any]) -> Any:
    """The torch.nn.Module an architecture (``architecture(module)``) describes, fresh weights."""
    torch = require_torch()
    arch = _check(arch)
    return _torch_build(arch["module"], torch, "").to(getattr(torch, arch.get("dtype",
                                                                               "float32")))


def to_torch(module: Any, into: Any = None) -> Any:
    """An equivalent torch.nn.Module: same architecture (torch.nn layers), weights and outputs.

    Converts nn.MLP / Sequential, Linear, the activations, Identity, Flatten, Dropout,
    ModuleList and ModuleDict; the torch module is in the same train/eval mode.  ``into``: a
    torch module of your own (the PyTorch twin of a dagrad Module subclass): every layer dagrad
    can describe is checked against the twin's layer of the same name (type and arguments),
    then the weights are copied into it; returns ``into``.
    """
    if into is not None:
        _check_twin(module, into)
        into.load_state_dict(state_dict_to_torch(module.state_dict()), strict=True)
        into.train(bool(getattr(module, "training", True)))
        return into
    arch = architecture(module)
    tm = torch_from_architecture(arch)
    tm.load_state_dict(state_dict_to_torch(module.state_dict()), strict=True)
    tm.train(bool(getattr(module, "training", True)))
    return tm


def _check_twin(module: Any, twin: Any) -> None:
    """Each dagrad layer with a torch.nn equivalent matches the twin's layer of the same name."""
    torch = require_torch()
    if not isinstance(twin, torch.nn.Module):
        raise TypeError(f"to_torch(into=...): expected a torch.nn.Module, got "
                        f"{type(twin).__name__}")
    theirs = dict(twin.named_modules())
    for name, m in module.named_modules():
        try:
            mine = module_spec(m, name)
        except ConversionError:
            continue                       # a Module subclass: its weights are checked by name
        other = theirs.get(name)
        if other is None:
            raise ConversionError(f"to_torch(into=...): the twin has no layer {name!r} "
                                  f"({mine['type']})")
        try:
            found = _torch_spec(other, torch, name)
        except ConversionError as e:
            raise ConversionError(f"to_torch(into=...): layer {name!r} is "
                                  f"{type(other).__name__} in the twin, {mine['type']} in "
                                  f"dagrad ({e})") from None
        if _leaf(found) != _leaf(mine):
            raise ConversionError(f"to_torch(into=...): layer {name!r} differs: dagrad "
                                  f"{_leaf(mine)}, twin {_leaf(found)}")


def _leaf(spec: dict[str, Any]) -> dict[str, Any]:
    return {"type": spec["type"], "args": spec.get("args", {})}


def torch_architecture(torch_module: Any) -> dict[str, Any]:
    """The architecture description of a torch module made of layers dagrad has."""
    torch = require_torch()
    dts = {str(p.dtype).removeprefix("torch.") for p in torch_module.parameters()}
    if len(dts) > 1:
        raise ConversionError(f"dg.interop.from_torch: the parameters mix dtypes {sorted(dts)}")
    dtype = dts.pop() if dts else "float32"
    if dtype not in ("float32", "float64"):
        raise ConversionError(f"dg.interop.from_torch: parameters of dtype {dtype}; dagrad "
                              "trains float32 or float64")
    from .architecture import FORMAT

    return {"format": FORMAT, "dtype": dtype, "module": _torch_spec(torch_module, torch, "")}


def _torch_spec(m: Any, torch: Any, where: str) -> dict[str, Any]:
    nn = torch.nn
    t = type(m)
    at = f" (at {where!r})" if where else ""

    def refuse(why: str) -> ConversionError:
        return ConversionError(f"dg.interop.from_torch: torch layer {t.__name__}{at} {why}")

    if t is nn.Linear:
        return {"type": "Linear", "args": {"in_features": m.in_features,
                                           "out_features": m.out_features,
                                           "bias": m.bias is not None}}
    if t in (nn.Identity, nn.Tanh, nn.Sigmoid, nn.ReLU):
        return {"type": t.__name__}
    if t is nn.Flatten:
        if (m.start_dim, m.end_dim) == (1, -1):
            return {"type": "Flatten"}
        from .. import nn as dnn

        if not hasattr(dnn.Flatten(), "start_dim"):
            raise refuse(f"with start_dim={m.start_dim}, end_dim={m.end_dim}: dagrad's Flatten "
                         "is start_dim=1, end_dim=-1")
        return {"type": "Flatten", "args": {"start_dim": m.start_dim, "end_dim": m.end_dim}}
    if t is nn.LeakyReLU:
        return {"type": "LeakyReLU", "args": {"negative_slope": float(m.negative_slope)}}
    if t in (nn.Softmax, nn.LogSoftmax):
        if m.dim is None:
            raise refuse("has dim=None; give it a dim")
        return {"type": t.__name__, "args": {"dim": int(m.dim)}}
    if t is nn.Softplus:
        if (m.beta, m.threshold) != (1, 20):
            raise refuse(f"with beta={m.beta}, threshold={m.threshold}: dagrad's softplus is "
                         "beta=1, threshold=20")
        return {"type": TORCH_NAMED_ELEMENTWISE["softplus"]}
    if t is nn.Dropout:
        from .. import nn as dnn

        if not hasattr(dnn, "Dropout"):
            raise refuse("has no dagrad equivalent in this version (no nn.Dropout)")
        return {"type": "Dropout", "args": {"p": float(m.p)}}
    if t.__name__ == "Elementwise" and t.__module__ == __name__:
        return {"type": "Elementwise", "args": {"name": m.name}}
    if t in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
        return {"type": t.__name__, "children": [
            {"name": name, **_torch_spec(c, torch, f"{where}.{name}" if where else name)}
            for name, c in m.named_children()]}
    if list(m.buffers(recurse=False)):
        raise refuse("has buffers (running statistics) and no dagrad equivalent")
    raise refuse(f"has no dagrad equivalent; dg.interop converts {', '.join(supported_layers())}")


def from_torch(torch_module: Any) -> Any:
    """The dagrad module equivalent to a torch module made of layers dagrad has (else an error
    naming the first layer it lacks): same architecture, weights, outputs and train/eval mode."""
    arch = torch_architecture(torch_module)
    module = from_spec(arch)
    module.load_state_dict(state_dict_from_torch(torch_module.state_dict()), strict=True)
    if not torch_module.training:
        module.eval()
    return module
