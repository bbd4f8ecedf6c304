"""``Optimizer``: parameter groups, per-parameter state, zero_grad, and flat array state dicts.

State dicts are flat ``{name: ndarray}`` mappings (``"param_groups.0.lr"``,
``"state.3.exp_avg"``), so they go into an ``.npz`` checkpoint as they are and load back with
``allow_pickle=False``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .. import versions
from ..tensor import _SEQ, Tensor

_next_seq = _SEQ.__next__

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: ``param_groups`` (dicts of hyperparameters + "params") and ``state[p]``."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        items = list(params)
        if not items:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._buffers: dict[int, tuple[np.ndarray, ...]] = {}  # scratch arrays, not state
        seen: set[int] = set()
        for group in groups:
            self.add_param_group(group, seen)

    def add_param_group(self, group: dict[str, Any], seen: set[int] | None = None) -> None:
        """Add a group of parameters with its own hyperparameters (others from the defaults)."""
        seen = {id(p) for g in self.param_groups for p in g["params"]} if seen is None else seen
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got "
                                f"{type(p).__name__}")
            if not p.is_leaf or not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: every parameter must be a leaf tensor "
                                 "with requires_grad=True")
            if id(p) in seen:
                raise ValueError("some parameters appear in more than one parameter group")
            seen.add(id(p))
        new = {k: v for k, v in group.items() if k != "params"}
        unknown = set(new) - set(self.defaults) - {"initial_lr"}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown hyperparameters "
                            f"{', '.join(sorted(unknown))}")
        full = {**self.defaults, **new, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyperparameters (subclasses)."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget gradients: ``p.grad = None`` (or zeros in place) for every parameter."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self) -> None:
        """Update every parameter that has a gradient, in place on ``p.data``."""
        self._record_step()
        self._update()
        stamp = _next_seq()  # as PyTorch's in-place updates: each parameter's version goes up
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    versions.bump(p.data, stamp)

    def _update(self) -> None:
        """The update itself, in place and without temporaries (``dg.compile`` replays it)."""
        raise NotImplementedError

    def _scratch(self, p: Any, k: int) -> tuple[np.ndarray, ...]:
        """``k`` work arrays shaped like ``p`` (not part of the state), reused every step."""
        buffers = self._buffers
        got = buffers.get(id(p))
        if got is None or len(got) < k or got[0].shape != p.data.shape \
                or got[0].dtype != p.data.dtype:
            got = buffers[id(p)] = tuple(np.empty_like(p.data) for _ in range(k))
        return got

    def _record_step(self) -> None:
        """Tell ``dg.compile`` (when it is tracing) that this step runs here, to replay it."""
        trace = sys.modules.get("dagrad.compiler.trace")
        if trace is not None and trace.ACTIVE:
            trace.record_effect(self)

    # ----- state dicts -----------------------------------------------------------------
    def _params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat name → array copy: hyperparameters per group and state per parameter index."""
        out: dict[str, np.ndarray] = {}
        index = 0
        for gi, group in enumerate(self.param_groups):
            n = len(group["params"])
            out[f"param_groups.{gi}.params"] = np.arange(index, index + n, dtype=np.int64)
            index += n
            for k, v in group.items():
                if k != "params":
                    out[f"param_groups.{gi}.{k}"] = np.array(v)
        for i, p in enumerate(self._params()):
            for k, v in self.state.get(p, {}).items():
                out[f"state.{i}.{k}"] = np.array(v, copy=True)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (validated, copied)."""
        sd = {k: np.asarray(v) for k, v in state_dict.items()}
        params = self._params()
        name = type(self).__name__
        n_groups = len({k.split(".")[1] for k in sd if k.startswith("param_groups.")})
        if n_groups != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: {n_groups} parameter groups saved, "
                             f"{len(self.param_groups)} here")
        for gi, group in enumerate(self.param_groups):
            idx = sd.get(f"param_groups.{gi}.params")
            if idx is None or len(idx) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {gi} has a different number "
                                 "of parameters")
        new_state: dict[Tensor, dict[str, Any]] = {}
        for k, v in sd.items():
            if not k.startswith("state."):
                continue
            _, i, key = k.split(".", 2)
            i = int(i)
            if not 0 <= i < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, but there "
                                 f"are {len(params)}")
            p = params[i]
            if v.ndim and (v.shape != p.data.shape):
                raise ValueError(f"{name}.load_state_dict: state {k} has shape {v.shape}, the "
                                 f"parameter has {p.data.shape}")
            value = v.item() if v.ndim == 0 else np.array(v, dtype=p.data.dtype, copy=True)
            new_state.setdefault(p, {})[key] = value
        for gi, group in enumerate(self.param_groups):
            for k in list(group):
                if k == "params":
                    continue
                v = sd.get(f"param_groups.{gi}.{k}")
                if v is None:
                    raise ValueError(f"{name}.load_state_dict: missing param_groups.{gi}.{k}")
                group[k] = _to_python(v)
            init_lr = sd.get(f"param_groups.{gi}.initial_lr")
            if init_lr is not None:
                group["initial_lr"] = _to_python(init_lr)
        self.state = new_state


def _to_python(v: np.ndarray) -> Any:
    """An array back to the Python value it was saved from (number, bool or tuple)."""
    if v.ndim == 0:
        return v.item()
    return tuple(x.item() for x in v)
