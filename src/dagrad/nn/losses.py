"""Loss modules with PyTorch's names and arguments: ``CrossEntropyLoss``, ``NLLLoss``,
``MSELoss``, ``L1Loss`` (each calls its function in ``dg.nn.functional``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss"]


def _checked(reduction: str, name: str) -> str:
    if reduction not in F.REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _constant(weight: Any) -> np.ndarray | None:
    if weight is None:
        return None
    return np.array(weight.data if isinstance(weight, Tensor) else weight, copy=True)


class CrossEntropyLoss(Module):
    """L = −Σ_c q_c log softmax(x)_c per target, reduced (class indices or probabilities;
    ``weight``, ``ignore_index``, ``label_smoothing`` as ``torch.nn.CrossEntropyLoss``)."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__()
        self.weight = _constant(weight)
        self.ignore_index = int(ignore_index)
        self.reduction = _checked(reduction, "CrossEntropyLoss")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must lie in [0, 1], got "
                             f"{label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)

    def extra_repr(self) -> str:
        return "" if self.label_smoothing == 0 else f"label_smoothing={self.label_smoothing}"


class NLLLoss(Module):
    """L = −w_y · input[y] per target (input: log-probabilities), reduced, as
    ``torch.nn.NLLLoss``."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__()
        self.weight = _constant(weight)
        self.ignore_index = int(ignore_index)
        self.reduction = _checked(reduction, "NLLLoss")

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(Module):
    """L = (x − y)², reduced, as ``torch.nn.MSELoss``."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _checked(reduction, "MSELoss")

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.mse_loss(input, target, self.reduction)


class L1Loss(Module):
    """L = |x − y|, reduced, as ``torch.nn.L1Loss``."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _checked(reduction, "L1Loss")

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return F.l1_loss(input, target, self.reduction)
