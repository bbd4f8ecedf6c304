"""Learning-rate schedules with torch.optim.lr_scheduler's names, formulas and stepping.

``StepLR``, ``CosineAnnealingLR``, ``LambdaLR``, ``LinearLR`` (warm-up), ``OneCycleLR``,
``SequentialLR`` and ``ReduceLROnPlateau``.  As in PyTorch, making a schedule takes its initial
step (``last_epoch`` 0, which may set the first lr: LinearLR, OneCycleLR), ``step()`` is called
after each ``optimizer.step()``, and the recursive ("chainable") formulas are PyTorch's, so the
learning rates are the same floating-point numbers.  ``state_dict()`` is a flat mapping of plain
values (PyTorch's key names), so it goes into an ``.npz`` checkpoint as it is.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "LambdaLR", "LinearLR", "OneCycleLR",
           "SequentialLR", "ReduceLROnPlateau"]


def _plain(v: Any) -> Any:
    """A saved value back to Python: numbers, strings, bools and lists of them."""
    if isinstance(v, np.ndarray):
        return v.item() if v.ndim == 0 else [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and writes the new lr into each group."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(f"{type(self).__name__}: param_groups[{i}] has no "
                                     "'initial_lr': resume with last_epoch >= 0 only after "
                                     "loading the optimizer's state dict")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._initial_step()

    def _initial_step(self) -> None:
        """The step a schedule takes when it is made (PyTorch's ``_initial_step``)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch`` (from the current ones)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step: last_epoch += 1 and set each group's lr."""
        self._step_count += 1
        self._update_lr(None)

    def _update_lr(self, epoch: int | None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()`` (or the initial ones)."""
        return list(self._last_lr)

    # ----- state dicts -----------------------------------------------------------------
    def _hyper(self) -> dict[str, Any]:
        """The schedule's constants (a state dict must carry the same ones)."""
        return {}

    def _state(self) -> dict[str, Any]:
        """What changes while the schedule runs."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs),
                "_last_lr": list(self._last_lr), "_step_count": self._step_count}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.last_epoch = int(state["last_epoch"])
        self.base_lrs = [float(x) for x in state["base_lrs"]]
        self._last_lr = [float(x) for x in state["_last_lr"]]
        self._step_count = int(state.get("_step_count", 1))

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's keys (``last_epoch``, ``base_lrs``, ``_last_lr``, the constants), plain
        values: an ``.npz`` checkpoint stores them as they are."""
        return {**self._state(), **self._hyper()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()``'s values (the constants must match this scheduler's)."""
        name = type(self).__name__
        sd = {k: _plain(v) for k, v in state_dict.items()}
        if "_last_lr" not in sd and "last_lr" in sd:      # checkpoints before PyTorch's names
            sd["_last_lr"] = sd["last_lr"]
        for k, v in self._hyper().items():
            if k not in sd:
                raise ValueError(f"{name}.load_state_dict: missing {k}")
            if sd[k] != _plain(v):
                raise ValueError(f"{name}.load_state_dict: saved {k}={sd[k]}, this scheduler "
                                 f"has {k}={v}")
        missing = [k for k in self._state() if k not in sd and k != "_step_count"]
        if missing:
            raise ValueError(f"{name}.load_state_dict: missing {', '.join(missing)}")
        n_saved = len(sd.get("base_lrs", sd["_last_lr"]))
        if n_saved != len(self.optimizer.param_groups):
            raise ValueError(f"{name}.load_state_dict: {n_saved} groups saved, "
                             f"{len(self.optimizer.param_groups)} here")
        self._set_state(sd)


class StepLR(LRScheduler):
    """η ← γ·η every ``step_size`` steps: η_t = η₀ γ^⌊t / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        if int(step_size) < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def _hyper(self) -> dict[str, Any]:
        return {"step_size": self.step_size, "gamma": self.gamma}

    def get_lr(self) -> list[float]:
        """Multiply by γ when last_epoch is a non-zero multiple of step_size."""
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """η_t = η_min + (η₀ − η_min)(1 + cos(π t / T_max)) / 2, by torch's recursive form."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        if int(T_max) < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max}")
        self.T_max = int(T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def _hyper(self) -> dict[str, Any]:
        return {"T_max": self.T_max, "eta_min": self.eta_min}

    def get_lr(self) -> list[float]:
        """η_t = (1 + cos(πt/T)) / (1 + cos(π(t−1)/T)) · (η_{t−1} − η_min) + η_min."""
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [g["lr"] for g in groups]
        if self._step_count == 1 and t > 0:
            return self._closed_form_lr()
        if (t - 1 - T) % (2 * T) == 0:
            return [g["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, g in zip(self.base_lrs, groups, strict=True)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (g["lr"] - lo) + lo for g in groups]

    def _closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """η_t = η₀ · λ(t) for a function λ of the step (one per group, or one for all)."""

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1):
        n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter group), "
                                 f"got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for i, fn in enumerate(self.lr_lambdas):
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda {i} is a {type(fn).__name__}, not a "
                                "function of the step")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """η₀ · λ(last_epoch) for each group."""
        return [base * fn(self.last_epoch)
                for fn, base in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class LinearLR(LRScheduler):
    """Warm-up: the factor goes linearly from start_factor to end_factor over total_iters steps,
    η_t = η₀ (s + (e − s) min(t, T) / T), by torch's recursive form."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must lie in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must lie in [0, 1], got {end_factor}")
        if int(total_iters) < 0:
            raise ValueError(f"LinearLR: total_iters must be >= 0, got {total_iters}")
        self.start_factor = float(start_factor)
        self.end_factor = float(end_factor)
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def _hyper(self) -> dict[str, Any]:
        return {"start_factor": self.start_factor, "end_factor": self.end_factor,
                "total_iters": self.total_iters}

    def get_lr(self) -> list[float]:
        """η·s at t = 0, then η · (1 + (e − s) / (T s + (t − 1)(e − s))) until t = T."""
        groups = self.optimizer.param_groups
        s, e, T, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch
        if t == 0:
            return [g["lr"] * s for g in groups]
        if self._is_initial or t > T:
            return [g["lr"] for g in groups]
        return [g["lr"] * (1.0 + (e - s) / (T * s + (t - 1) * (e - s))) for g in groups]

    def _closed_form_lr(self) -> list[float]:
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(T, self.last_epoch) / T) for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy: lr from max_lr/div_factor up to max_lr (pct_start of the steps), then
    down to initial/final_div_factor (cosine or linear; ``three_phase`` back to the initial lr
    first), momentum (SGD's ``momentum``, Adam's β₁) cycled the other way, as PyTorch."""

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if total_steps is not None:
            if isinstance(total_steps, bool) or not isinstance(total_steps, int) \
                    or total_steps <= 0:
                raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got "
                                 f"{total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            for key, v in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                    raise ValueError(f"OneCycleLR: {key} must be a positive integer, got {v!r}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be a float in [0, 1], got "
                             f"{pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.three_phase = bool(three_phase)
        n = self.total_steps
        if self.three_phase:
            self._phases = [
                (float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"),
                (float(2 * pct_start * n) - 2, "max_lr", "initial_lr", "base_momentum",
                 "max_momentum"),
                (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"),
                (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        groups = optimizer.param_groups
        max_lrs = _per_group("max_lr", groups, max_lr)
        if last_epoch == -1:
            for group, top in zip(groups, max_lrs, strict=True):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: {type(optimizer).__name__} has neither momentum "
                                 "nor betas; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            tops = _per_group("max_momentum", groups, max_momentum)
            bases = _per_group("base_momentum", groups, base_momentum)
            if last_epoch == -1:
                for top, base, group in zip(tops, bases, groups, strict=True):
                    if self.use_beta1:
                        group["betas"] = (top, *group["betas"][1:])
                    else:
                        group["momentum"] = top
                    group["max_momentum"] = top
                    group["base_momentum"] = base
        super().__init__(optimizer, last_epoch)

    def _hyper(self) -> dict[str, Any]:
        return {"total_steps": self.total_steps, "pct_start": self.pct_start,
                "anneal_strategy": self.anneal_strategy, "three_phase": self.three_phase,
                "cycle_momentum": self.cycle_momentum}

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        """Interpolate within the phase holding ``last_epoch`` (and set the momentum)."""
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times; total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr0, lr1, m0, m1) in enumerate(self._phases):
                if t <= end_step or i == len(self._phases) - 1:
                    pct = (t - start_step) / (end_step - start_step)
                    lr = self._anneal(group[lr0], group[lr1], pct)
                    if self.cycle_momentum:
                        mom = self._anneal(group[m0], group[m1], pct)
                    break
                start_step = end_step
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (mom, *group["betas"][1:])
                else:
                    group["momentum"] = mom
        return lrs


def _per_group(name: str, groups: list[dict[str, Any]], value: Any) -> list[float]:
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"OneCycleLR: {name} has {len(value)} values, the optimizer has "
                             f"{len(groups)} parameter groups")
        return [float(v) for v in value]
    return [float(value)] * len(groups)


class SequentialLR(LRScheduler):
    """Schedules one after another: ``schedulers[i]`` runs from ``milestones[i-1]`` on (each
    restarted at its step 0 there), as ``torch.optim.lr_scheduler.SequentialLR``."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR: expects at least one scheduler")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau) or not isinstance(s, LRScheduler):
                raise TypeError(f"SequentialLR: scheduler {i} is a {type(s).__name__}; give "
                                "schedules stepped without a metric")
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {i} ({type(s).__name__}) belongs to "
                                 "another optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need "
                             f"{len(schedulers) - 1} milestones, got {len(milestones)}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = int(last_epoch) + 1
        self._step_count = 1
        for group in optimizer.param_groups:       # back to the initial lrs, and undo the
            group["lr"] = group["initial_lr"]        # initial steps the schedules took
        for s in schedulers:
            s.last_epoch -= 1
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        idx = bisect_right(self._milestones, 0)
        schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def step(self) -> None:
        """Step the schedule whose turn it is (restarted at 0 on its milestone)."""
        self.last_epoch += 1
        self._step_count += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def _hyper(self) -> dict[str, Any]:
        return {"_milestones": list(self._milestones)}

    def state_dict(self) -> dict[str, Any]:
        """Its own entries and each schedule's as ``_schedulers.<i>.<key>`` (flat)."""
        out = super().state_dict()
        for i, s in enumerate(self._schedulers):
            out.update({f"_schedulers.{i}.{k}": v for k, v in s.state_dict().items()})
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore its own entries and each schedule's."""
        own = {k: v for k, v in state_dict.items() if not k.startswith("_schedulers.")}
        for i, s in enumerate(self._schedulers):
            prefix = f"_schedulers.{i}."
            s.load_state_dict({k[len(prefix):]: v for k, v in state_dict.items()
                               if k.startswith(prefix)})
        super().load_state_dict(own)


class ReduceLROnPlateau(LRScheduler):
    """η ← max(η·factor, min_lr) once the metric passed to ``step(metric)`` has not improved for
    more than ``patience`` steps (then ``cooldown`` steps of rest), as PyTorch."""

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = [float(x) for x in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * n
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        self.last_epoch = 0
        self._step_count = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.base_lrs = list(self._last_lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" \
                else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" \
            else a > best + self.threshold

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record this step's metric (a number or a 0-d Tensor) and reduce the lr if due."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        self._step_count += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for i, group in enumerate(self.optimizer.param_groups):
                old = float(group["lr"])
                new = max(old * self.factor, self.min_lrs[i])
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _hyper(self) -> dict[str, Any]:
        return {"mode": self.mode, "factor": self.factor, "patience": self.patience,
                "threshold": self.threshold, "threshold_mode": self.threshold_mode,
                "cooldown": self.cooldown, "eps": self.eps}

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter, "min_lrs": list(self.min_lrs)}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.min_lrs = [float(x) for x in state["min_lrs"]]
