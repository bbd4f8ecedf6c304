"""Optimizers and learning-rate schedules with torch.optim's names and update rules.

``dg.optim.lr_scheduler`` holds the schedules, as ``torch.optim.lr_scheduler`` does (they are
also exported here, as dagrad always did).
"""

from __future__ import annotations

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .lr_scheduler import (
    CosineAnnealingLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from .optimizer import Optimizer, flat_state_dict, nested_state_dict
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LRScheduler", "StepLR",
           "CosineAnnealingLR", "LambdaLR", "LinearLR", "OneCycleLR", "SequentialLR",
           "ReduceLROnPlateau", "lr_scheduler", "flat_state_dict", "nested_state_dict"]
