"""Learning-rate schedules stepped once per optimizer step: ``StepLR``, ``CosineAnnealingLR``.

Both use torch.optim.lr_scheduler's recursive ("chainable") formulas, so the learning rates are
the same floating-point numbers as PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR"]


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and writes the new lr into each group."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch`` (from the current ones)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step: last_epoch += 1 and set each group's lr."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()`` (or the initial ones)."""
        return list(self._last_lr)

    def _hyper(self) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat name → array: last_epoch, base_lrs and the schedule's constants."""
        out = {"last_epoch": np.array(self.last_epoch, dtype=np.int64),
               "base_lrs": np.array(self.base_lrs, dtype=np.float64),
               "last_lr": np.array(self._last_lr, dtype=np.float64)}
        out.update({k: np.array(v) for k, v in self._hyper().items()})
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()``'s values (the constants must match this scheduler's)."""
        name = type(self).__name__
        for k, v in self._hyper().items():
            if k not in state_dict:
                raise ValueError(f"{name}.load_state_dict: missing {k}")
            saved = np.asarray(state_dict[k]).item()
            if saved != v:
                raise ValueError(f"{name}.load_state_dict: saved {k}={saved}, this scheduler "
                                 f"has {k}={v}")
        base = [float(x) for x in np.asarray(state_dict["base_lrs"]).ravel()]
        if len(base) != len(self.optimizer.param_groups):
            raise ValueError(f"{name}.load_state_dict: {len(base)} groups saved, "
                             f"{len(self.optimizer.param_groups)} here")
        self.last_epoch = int(np.asarray(state_dict["last_epoch"]))
        self.base_lrs = base
        self._last_lr = [float(x) for x in np.asarray(state_dict["last_lr"]).ravel()]


class StepLR(LRScheduler):
    """η ← γ·η every ``step_size`` steps: η_t = η₀ γ^⌊t / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if int(step_size) < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def _hyper(self) -> dict[str, Any]:
        return {"step_size": self.step_size, "gamma": self.gamma}

    def get_lr(self) -> list[float]:
        """Multiply by γ when last_epoch is a non-zero multiple of step_size."""
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]


class CosineAnnealingLR(LRScheduler):
    """η_t = η_min + (η₀ − η_min)(1 + cos(π t / T_max)) / 2, by torch's recursive form."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if int(T_max) < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max}")
        self.T_max = int(T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def _hyper(self) -> dict[str, Any]:
        return {"T_max": self.T_max, "eta_min": self.eta_min}

    def get_lr(self) -> list[float]:
        """η_t = (1 + cos(πt/T)) / (1 + cos(π(t−1)/T)) · (η_{t−1} − η_min) + η_min."""
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if t == 0:
            return [g["lr"] for g in groups]
        if (t - 1 - T) % (2 * T) == 0:
            return [g["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, g in zip(self.base_lrs, groups, strict=True)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (g["lr"] - lo) + lo for g in groups]
