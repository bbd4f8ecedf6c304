"""The one place dg.interop imports PyTorch (lazily), with an error naming the extra to install."""

from __future__ import annotations

from typing import Any

INSTALL = "dg.interop needs PyTorch: pip install 'dagrad[torch]'"


def require_torch() -> Any:
    """``import torch``, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as e:
        raise ImportError(INSTALL) from e
    return torch
