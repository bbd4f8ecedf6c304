"""The ``.pt`` file for PyTorch: the state dict and the architecture, loadable with
``torch.load(path, weights_only=True)``; written atomically."""

from __future__ import annotations

import os
from typing import Any

from ..atomic import atomic_write
from ._torch import require_torch
from .architecture import architecture
from .convert import state_dict_to_torch, torch_from_architecture

__all__ = ["save_torch", "load_torch"]

PathLike = str | os.PathLike


def save_torch(module: Any, path: PathLike, *, metadata: dict[str, Any] | None = None) -> None:
    """Write {"state_dict": torch tensors, "dagrad_architecture": {...JSON-able...}} to path.

    ``metadata``: JSON-able extras stored under the architecture's "metadata" (e.g. the
    input normalisation a training run used).
    """
    torch = require_torch()
    arch = architecture(module)
    if metadata:
        arch["metadata"] = dict(metadata)
    obj = {"state_dict": state_dict_to_torch(module.state_dict()), "dagrad_architecture": arch}
    with atomic_write(path, "wb") as f:
        torch.save(obj, f)


def load_torch(path: PathLike) -> Any:
    """The torch.nn.Module a ``.pt`` written by dagrad describes, with its weights (eval mode).

    Reads with ``torch.load(path, weights_only=True)``: nothing in the file is executed.
    """
    torch = require_torch()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_torch: no file {os.fspath(path)!r}")
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 — torch raises many kinds for a bad file
        raise ValueError(f"load_torch: {os.fspath(path)!r} is not a PyTorch file torch.load "
                         f"can read with weights_only=True ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict) or "state_dict" not in obj or "dagrad_architecture" not in obj:
        raise ValueError(f"load_torch: {os.fspath(path)!r} holds no 'state_dict' and "
                         "'dagrad_architecture' (write it with dagrad train --export-torch or "
                         "dg.interop.save_torch)")
    model = torch_from_architecture(obj["dagrad_architecture"])
    model.load_state_dict(obj["state_dict"], strict=True)
    return model.eval()
