"""While a trace records: Tensor methods that hand a traced value to Python refuse (a replay
cannot repeat a Python decision), comparisons are recorded (``dg.where`` selects with them), and
writes of ``.grad`` on arguments and parameters are recorded (``zero_grad``).  All undone at the
end of the trace; tensors that are not part of the trace behave as usual throughout.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..tensor import Tensor
from .trace import CompileError, Recorder

__all__ = ["installed", "user_site"]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_READERS = {
    "item": "Tensor.item()",
    "tolist": "Tensor.tolist()",
    "__bool__": "bool(tensor), e.g. an if or while on a tensor",
    "__float__": "float(tensor)",
    "__int__": "int(tensor)",
    "__index__": "a tensor used as an index",
    "numpy": "Tensor.numpy()",
    "__array__": "np.asarray(tensor)",
}
_SHAPE_ONLY = ("numpy", "__array__")  # dagrad itself uses these for shapes (zeros_like)


def user_site(depth: int = 2) -> tuple[str, bool]:
    """('file:line' of the innermost frame outside dagrad, whether the direct caller is dagrad)."""
    f = sys._getframe(depth)
    internal = f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PKG)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PKG):
        f = f.f_back
    if f is None:
        return "<unknown location>", internal
    return f"{f.f_code.co_filename}:{f.f_lineno}", internal


def _guard(orig: Callable, what: str, shape_only: bool, rec: Recorder) -> Callable:
    @functools.wraps(orig)
    def guarded(self, *args, **kwargs):
        if threading.get_ident() == rec.thread and rec.watches(self):
            site, internal = user_site(2)
            if not (shape_only and internal):
                raise CompileError(
                    f"dg.compile cannot replay a Python decision on a tensor's value ({what} "
                    f"at {site}); return the value instead, or use dg.where")
        return orig(self, *args, **kwargs)

    return guarded


class _GradSpy:
    """Stands in for Tensor's ``grad`` property: reads pass through, writes are reported first
    (then checked and stored by the property itself)."""

    def __init__(self, slot: Any, rec: Recorder):
        self.slot = slot
        self.rec = rec

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        return self if obj is None else self.slot.__get__(obj, cls)

    def __set__(self, obj: Any, value: Any) -> None:
        if value is not None or hasattr(obj, "_seq"):  # (not a tensor being made: grad = None)
            self.rec.on_grad_write(obj, value)
        self.slot.__set__(obj, value)

    def __delete__(self, obj: Any) -> None:
        self.slot.__delete__(obj)


@contextmanager
def installed(rec: Recorder) -> Iterator[None]:
    """Install the guards, the comparison recorder and the .grad spy for one trace."""
    saved: dict[str, Any] = {}
    for name, what in _READERS.items():
        orig = Tensor.__dict__.get(name)
        if orig is not None:
            saved[name] = orig
            setattr(Tensor, name, _guard(orig, what, name in _SHAPE_ONLY, rec))
    slot = Tensor.__dict__.get("grad")
    spy = slot is not None and hasattr(slot, "__set__")
    if spy:
        Tensor.grad = _GradSpy(slot, rec)
    tensor_module = sys.modules[Tensor.__module__]   # (dagrad.tensor is also a function's name)
    compare = getattr(tensor_module, "_compare", None)
    if compare is not None:
        def traced_compare(fn, a, b):
            out = compare(fn, a, b)
            rec.on_compare(fn, a, b, out)
            return out

        tensor_module._compare = traced_compare
    try:
        yield
    finally:
        if compare is not None:
            tensor_module._compare = compare
        if spy:
            Tensor.grad = slot
        for name, orig in saved.items():
            setattr(Tensor, name, orig)
