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

__all__ = ["bump", "bump_all", "version", "modified_after", "storage", "latest", "WRITES",
           "LATEST"]

#: id(storage array) -> [weakref to it, in-place writes so far, stamp of the latest write]
WRITES: dict[int, list] = {}
#: [the stamp of the newest in-place write to any storage] (0: none yet).  No storage was
#: written after stamp s when LATEST[0] <= s, so a node made after the last write (every node of
#: a training step recorded after the optimizer's update) needs no per-value check.
LATEST = [0]
_LOCK = threading.Lock()
_ND = np.ndarray


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
    with _LOCK:
        _bump_root(root, stamp)


def bump_all(arrays: Any, stamp: int) -> None:
    """``bump(a, stamp)`` for every array of the iterable ``arrays``, under one lock."""
    with _LOCK:
        for arr in arrays:
            if type(arr) is not _ND:
                continue
            base = arr.base  # storage(arr), inline: a parameter is its own storage
            while isinstance(base, _ND):
                arr, base = base, base.base
            _bump_root(arr, stamp)


def _bump_root(root: np.ndarray, stamp: int) -> None:
    """Count one write to the storage ``root`` at ``stamp`` (the caller holds the lock)."""
    key = id(root)
    entry = WRITES.get(key)
    if entry is None or entry[0]() is not root:
        WRITES[key] = [weakref.ref(root, _forget(key)), 1, stamp]
    else:
        entry[1] += 1
        entry[2] = stamp
    if stamp > LATEST[0]:
        LATEST[0] = stamp


def latest() -> int:
    """The stamp of the newest in-place write to any storage (0 when there was none)."""
    return LATEST[0]


def version(arr: Any) -> int:
    """How many times ``arr``'s storage was written in place (0: never)."""
    root = storage(arr)
    entry = WRITES.get(id(root)) if root is not None else None
    return entry[1] if entry is not None and entry[0]() is root else 0


def modified_after(arr: Any, stamp: int) -> bool:
    """True when ``arr``'s storage was written in place after sequence stamp ``stamp``."""
    if LATEST[0] <= stamp:  # nothing at all was written since
        return False
    root = storage(arr)
    entry = WRITES.get(id(root)) if root is not None else None
    return entry is not None and entry[0]() is root and entry[2] > stamp
