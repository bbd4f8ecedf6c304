"""The optimizer steps the replay runs in place: SGD's and Adam's own allocation-free update.

``dagrad.optim`` writes those updates once (``Optimizer._update``: the arithmetic of
``torch.optim``, in its order, into scratch arrays made once per parameter), so a replayed step
and an eager one give identical numbers.  Hyperparameters — the learning rate above all, which
schedules change — and the per-parameter state are read from the optimizer at every call, so
eager and compiled steps can be mixed freely and checkpoints see the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["kernel_for"]


def kernel_for(opt: Any) -> Callable[[], None] | None:
    """The in-place update of an optimizer of exactly a known type, else None (replay calls
    ``opt.step()`` itself)."""
    from ..optim import SGD, Adam

    if type(opt) in (SGD, Adam):
        return opt._update
    return None
