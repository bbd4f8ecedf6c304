"""Version counters of array storage: which values were modified in place, and when.

As in PyTorch, the counter belongs to the memory, not to one tensor: a tensor and every view
of it (a slice, a reshape, a transpose) share it, so writing through any of them is seen by
all.  Each in-place write records the storage's count of in-place writes and the engine's
sequence stamp at that moment (the same counter that numbers nodes, so "modified after node N
was made" is one comparison).  Storage that was never written in place has no entry: the
table stays empty, and backward checks nothing, until the first in-place op.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

__all__ = ["bump", "version", "modified_after", "storage", "WRITES"]

#: id(storage array) -> [weakref to it, in-place writes so far, stamp of the latest write]
WRITES: dict[int, list] = {}
_LOCK = threading.Lock()


def storage(arr: Any) -> np.ndarray | None:
    """The ndarray that owns ``arr``'s memory (``arr`` itself unless it is a view)."""
    if type(arr) is not np.ndarray:
        return None  # NumPy scalars are immutable: never written in place
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def _forget(key: int) -> Any:
    return lambda _ref: WRITES.pop(key, None)


def bump(arr: np.ndarray, stamp: int) -> None:
    """Record an in-place write to ``arr``'s storage at sequence stamp ``stamp``."""
    root = storage(arr)
    if root is None:
        return
    key = id(root)
    with _LOCK:
        entry = WRITES.get(key)
        if entry is None or entry[0]() is not root:
            WRITES[key] = [weakref.ref(root, _forget(key)), 1, stamp]
        else:
            entry[1] += 1
            entry[2] = stamp


def version(arr: Any) -> int:
    """How many times ``arr``'s storage was written in place (0: never)."""
    root = storage(arr)
    entry = WRITES.get(id(root)) if root is not None else None
    return entry[1] if entry is not None and entry[0]() is root else 0


def modified_after(arr: Any, stamp: int) -> bool:
    """True when ``arr``'s storage was written in place after sequence stamp ``stamp``."""
    root = storage(arr)
    entry = WRITES.get(id(root)) if root is not None else None
    return entry is not None and entry[0]() is root and entry[2] > stamp
