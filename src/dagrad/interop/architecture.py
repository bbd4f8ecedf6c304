"""A dagrad module's architecture as JSON-able data, and the dagrad module rebuilt from it.

The description names each layer by its ``torch.nn`` class (``Linear``, ``Tanh``, ``Dropout``,
``Sequential``, ...) with that class's keyword arguments, so plain PyTorch code can rebuild the
network from it (see the README, "When you outgrow dagrad").  Activations of dagrad's op table
that ``torch.nn`` has no module for (``sin``, ``square``, ...) are ``{"type": "Elementwise",
"args": {"name": ...}}``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

__all__ = ["FORMAT", "architecture", "module_spec", "from_spec", "ConversionError",
           "TORCH_NAMED_ELEMENTWISE", "supported_layers"]

FORMAT = "dagrad-architecture/1"

#: table activations that torch.nn has a module for (dagrad's nn.Elementwise(name) ↔ torch.nn.X)
TORCH_NAMED_ELEMENTWISE = {"softplus": "Softplus"}


class ConversionError(TypeError):
    """A module (or layer) that has no equivalent on the other side; the message names it."""


def _nn() -> Any:
    from .. import nn

    return nn


def supported_layers() -> tuple[str, ...]:
    """The torch.nn layer names dg.interop converts (both ways)."""
    nn = _nn()
    names = ["Linear", "Identity", "Flatten", "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Softmax",
             "LogSoftmax", "Sequential", *TORCH_NAMED_ELEMENTWISE.values()]
    names += [n for n in ("Dropout", "ModuleList", "ModuleDict") if hasattr(nn, n)]
    return tuple(names)


def module_spec(module: Any, where: str = "") -> dict[str, Any]:
    """One module as {"type": torch.nn name, "args": {...}, "children": [...]} (recursive)."""
    nn = _nn()
    t = type(module)
    at = f" (at {where!r})" if where else ""
    if t is nn.Linear:
        return {"type": "Linear", "args": {"in_features": module.in_features,
                                           "out_features": module.out_features,
                                           "bias": module.bias is not None}}
    simple = {nn.Identity: "Identity", nn.Tanh: "Tanh", nn.Sigmoid: "Sigmoid", nn.ReLU: "ReLU"}
    if t in simple:
        return {"type": simple[t]}
    if t is nn.Flatten:
        dims = (getattr(module, "start_dim", 1), getattr(module, "end_dim", -1))
        return {"type": "Flatten"} if dims == (1, -1) else {
            "type": "Flatten", "args": {"start_dim": dims[0], "end_dim": dims[1]}}
    if t is nn.LeakyReLU:
        return {"type": "LeakyReLU", "args": {"negative_slope": module.negative_slope}}
    if t in (nn.Softmax, nn.LogSoftmax):
        return {"type": t.__name__, "args": {"dim": int(module.axis)}}
    if t.__name__ == "Elementwise" and t.__module__.startswith("dagrad."):
        if module.name in TORCH_NAMED_ELEMENTWISE:
            return {"type": TORCH_NAMED_ELEMENTWISE[module.name]}
        return {"type": "Elementwise", "args": {"name": module.name}}
    if hasattr(nn, "Dropout") and t is nn.Dropout:
        return {"type": "Dropout", "args": {"p": float(module.p)}}
    containers = [getattr(nn, k) for k in ("Sequential", "ModuleList", "ModuleDict")
                  if hasattr(nn, k)]
    if t in (*containers, nn.MLP):
        kind = "Sequential" if t is nn.MLP else t.__name__
        return {"type": kind, "children": [
            {"name": name, **module_spec(child, f"{where}.{name}" if where else name)}
            for name, child in module.named_children()]}
    raise ConversionError(
        f"dg.interop: dagrad module {t.__name__}{at} has no PyTorch equivalent here; "
        f"dg.interop converts {', '.join(supported_layers())} (nn.MLP is a Sequential). For a "
        "Module subclass of your own, write its twin in PyTorch and copy the weights with "
        "dg.interop.state_dict_to_torch(model.state_dict())")


def _dtype_of(module: Any) -> str:
    dts = {np.dtype(p.data.dtype).name for p in module.parameters()}
    if len(dts) > 1:
        raise ConversionError(f"dg.interop: the parameters mix dtypes {sorted(dts)}; convert the "
                              "module to one dtype first (module.float() or module.double())")
    return dts.pop() if dts else "float32"


def architecture(module: Any) -> dict[str, Any]:
    """{"format", "dtype", "module": module_spec(module)}: JSON-able, enough to rebuild it."""
    return {"format": FORMAT, "dtype": _dtype_of(module), "module": module_spec(module)}


def _check(arch: Any) -> dict[str, Any]:
    if not isinstance(arch, dict) or arch.get("format") != FORMAT or "module" not in arch:
        raise ValueError(f"not a dagrad architecture (expected a dict with format {FORMAT!r} "
                         f"and 'module'), got {str(arch)[:80]!r}")
    return arch


def from_spec(arch: dict[str, Any]) -> Any:
    """The dagrad module an :func:`architecture` describes (fresh weights, its dtype)."""
    arch = _check(arch)
    return _build(arch["module"], np.dtype(arch.get("dtype", "float32")), "")


def _build(spec: dict[str, Any], dtype: np.dtype, where: str) -> Any:
    nn = _nn()
    kind, args = spec.get("type"), dict(spec.get("args", {}))
    if kind in ("Sequential", "ModuleList", "ModuleDict"):
        kids = OrderedDict((c["name"], _build(c, dtype, f"{where}.{c['name']}".lstrip(".")))
                           for c in spec.get("children", []))
        if kind == "Sequential":
            return nn.Sequential(kids)
        if not hasattr(nn, kind):
            raise ConversionError(f"this dagrad has no nn.{kind}")
        return getattr(nn, kind)(list(kids.values()) if kind == "ModuleList" else kids)
    if kind == "Linear":
        return nn.Linear(args["in_features"], args["out_features"], bias=args.get("bias", True),
                         dtype=dtype)
    if kind == "Elementwise":
        from ..nn.mlp import Elementwise

        return Elementwise(args["name"])
    named = {v: k for k, v in TORCH_NAMED_ELEMENTWISE.items()}
    if kind in named:
        from ..nn.mlp import Elementwise

        return Elementwise(named[kind])
    if kind in ("Identity", "Tanh", "Sigmoid", "ReLU", "Flatten", "LeakyReLU", "Softmax",
                "LogSoftmax", "Dropout") and hasattr(nn, kind):
        return getattr(nn, kind)(**args)
    raise ConversionError(f"dg.interop: layer type {kind!r} (at {where!r}) is not one dagrad has")
