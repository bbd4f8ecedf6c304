"""Neural nets with PyTorch's names: ``Module``, ``Linear``, activations, ``Dropout``,
containers (``Sequential``, ``ModuleList``, ``ModuleDict``), loss modules, ``MLP``.

``dg.nn.functional`` holds the losses (``cross_entropy``, ``nll_loss``, ``mse_loss``,
``l1_loss``), ``dropout``, ``one_hot`` and the activations as functions; ``dg.nn.init`` the
initialisers; ``dg.nn.utils`` gradient clipping.
"""

from __future__ import annotations

from . import functional, init, utils
from .layers import (
    INITS,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleDict,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .mlp import ACTIVATIONS, MLP, make_activation
from .module import LoadResult, Module, Parameter, StateDictError

__all__ = [
    "Module", "Parameter", "StateDictError", "LoadResult", "Linear", "Identity", "Flatten",
    "Dropout", "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Softmax", "LogSoftmax", "Sequential",
    "ModuleList", "ModuleDict", "MLP", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
    "functional", "init", "utils", "INITS", "ACTIVATIONS", "make_activation",
]
