"""Neural nets with PyTorch's names: ``Module``, ``Linear``, activations, ``Sequential``, ``MLP``.

``dg.nn.functional`` holds the losses (``cross_entropy``, ``nll_loss``) and activations as
functions; ``dg.nn.init`` the initialisers.
"""

from __future__ import annotations

from . import functional, init
from .layers import (
    INITS,
    CrossEntropyLoss,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    NLLLoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .mlp import ACTIVATIONS, MLP, make_activation
from .module import LoadResult, Module, Parameter, StateDictError

__all__ = [
    "Module", "Parameter", "StateDictError", "LoadResult", "Linear", "Identity", "Flatten",
    "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Softmax", "LogSoftmax", "Sequential", "MLP",
    "CrossEntropyLoss", "NLLLoss", "functional", "init", "INITS", "ACTIVATIONS",
    "make_activation",
]
