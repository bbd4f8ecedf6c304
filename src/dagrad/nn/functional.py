"""Functions of ``dg.nn.functional`` (PyTorch's ``torch.nn.functional`` names), on the op table."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..ops.base import as_input
from ..ops.nn import check_labels
from ..tensor import Tensor

__all__ = [
    "cross_entropy",
    "nll_loss",
    "softmax",
    "log_softmax",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "softplus",
    "linear",
]


def cross_entropy(logits: Any, labels: Any) -> Tensor:
    """L = mean_i −log softmax(logits_i)[y_i]; labels are class indices from 0 (fused op)."""
    return ops.cross_entropy(logits, labels)


def nll_loss(log_probs: Any, labels: Any) -> Tensor:
    """L = mean_i −log_probs[i, y_i] (log_probs (C,) or (N, C); labels checked as cross_entropy)."""
    lp = as_input(log_probs)
    if lp.ndim == 0:
        raise ValueError("nll_loss: log_probs must have a class axis (shape (C,) or (N, C))")
    lab = check_labels(labels, lp.shape[:-1], lp.shape[-1], "nll_loss").data.reshape(-1)
    flat = lp.reshape(-1, lp.shape[-1]) if lp.ndim != 2 else lp
    picked = flat[np.arange(lab.size), lab]
    return -picked.mean()


def softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along ``axis``."""
    return ops.softmax(x, axis, dim=dim)


def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """log softmax(x) = x − log Σ_j e^{x_j} along ``axis``."""
    return ops.log_softmax(x, axis, dim=dim)


def tanh(x: Any) -> Tensor:
    """tanh(x), elementwise."""
    return ops.tanh(x)


def sigmoid(x: Any) -> Tensor:
    """σ(x) = 1 / (1 + e^−x), elementwise."""
    return ops.sigmoid(x)


def relu(x: Any) -> Tensor:
    """max(x, 0), elementwise."""
    return ops.relu(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else slope·x, elementwise."""
    return ops.leaky_relu(x, negative_slope)


def softplus(x: Any) -> Tensor:
    """softplus(x) = ln(1 + e^x), elementwise, computed stably (beta=1, threshold=20)."""
    return ops.softplus(x)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x Wᵀ + b with W of shape (out, in) (fused op)."""
    return ops.linear(x, weight, bias)
