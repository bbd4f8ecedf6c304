"""The one place dg.onnx imports the ``onnx`` package (lazily), naming the extra to install."""

from __future__ import annotations

from typing import Any

INSTALL = "dg.onnx needs the onnx package: pip install 'dagrad[onnx]'"


def require_onnx() -> Any:
    """``import onnx``, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError as e:
        raise ImportError(INSTALL) from e
    return onnx
