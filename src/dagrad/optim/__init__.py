"""Optimizers and learning-rate schedules with torch.optim's names and update rules."""

from __future__ import annotations

from . import schedule as lr_scheduler
from .adam import Adam
from .optimizer import Optimizer
from .schedule import CosineAnnealingLR, LRScheduler, StepLR
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "LRScheduler", "StepLR", "CosineAnnealingLR",
           "lr_scheduler"]
