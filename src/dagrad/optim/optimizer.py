"""``Optimizer``: parameter groups, per-parameter state, zero_grad, and state dicts.

``state_dict()`` has PyTorch's nested layout (``{"state": {i: {...}}, "param_groups": [...]}``);
:func:`flat_state_dict` flattens it to ``{"param_groups.0.lr": array, "state.3.exp_avg":
array}`` for an ``.npz`` checkpoint (loaded back with ``allow_pickle=False``), and
``load_state_dict`` takes either form.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .. import versions
from ..tensor import _SEQ, Tensor

#: Elements per block of a blocked update: its scratch blocks stay in cache (32,768 float32:
#: 128 KiB each).
BLOCK = 1 << 15

_next_seq = _SEQ.__next__

__all__ = ["Optimizer", "flat_state_dict", "nested_state_dict"]


#: Keys that learning-rate schedules add to a parameter group (kept by state dicts).
SCHEDULE_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")
#: torch.optim's switches of implementation or behaviour, found in its state dicts.
TORCH_SWITCHES = ("foreach", "fused", "capturable", "differentiable", "maximize", "amsgrad",
                  "decoupled_weight_decay")


class Optimizer:
    """Base class: ``param_groups`` (dicts of hyperparameters + "params") and ``state[p]``."""

    #: torch switches this optimizer's update implies (AdamW: decoupled weight decay)
    _implied: dict[str, Any] = {}

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        items = list(params)
        if not items:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._buffers: dict[int, tuple[np.ndarray, ...]] = {}  # scratch arrays, not state
        #: blocked updates' scratch: (dtype, k) → k arrays of BLOCK elements (_block_scratch)
        self._blocks: dict[tuple[np.dtype, int], tuple[np.ndarray, ...]] = {}
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
        unknown = set(new) - set(self.defaults) - set(SCHEDULE_KEYS)
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
        # p._d: the update wrote p.data, which holds every written parameter as an array
        versions.bump_all([p._d for group in self.param_groups for p in group["params"]
                           if p.grad is not None], stamp)

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

    @staticmethod
    def _decayed(g: np.ndarray, w: np.ndarray, wd: float, out: np.ndarray) -> np.ndarray:
        """g + λw (L2 weight decay, as torch's ``grad.add(p, alpha=λ)``) into out; g if λ = 0."""
        if wd == 0:
            return g
        np.multiply(w, wd, out=out)
        np.add(g, out, out=out)
        return out

    def _block_scratch(self, dtype: np.dtype, k: int) -> tuple[np.ndarray, ...]:
        """``k`` work arrays of ``BLOCK`` elements of ``dtype``, shared by every parameter: a
        blocked update's operands stay in cache."""
        got = self._blocks.get((dtype, k))
        if got is None:
            got = self._blocks[(dtype, k)] = tuple(np.empty(BLOCK, dtype) for _ in range(k))
        return got

    @staticmethod
    def _lerp(avg: np.ndarray, g: np.ndarray, w: float, tmp: np.ndarray) -> None:
        """avg ← avg + w (g − avg) in place, as ``torch.lerp_``: avg + w·(g − avg) for |w| < ½,
        else g − (g − avg)(1 − w) (the same rounding as PyTorch's kernel)."""
        np.subtract(g, avg, out=tmp)
        if abs(w) < 0.5:
            tmp *= w
            avg += tmp
        else:
            tmp *= 1 - w
            np.subtract(g, tmp, out=avg)

    def _record_step(self) -> None:
        """Tell ``dg.compile`` (when it is tracing) that this step runs here, to replay it."""
        trace = sys.modules.get("dagrad.compiler.trace")
        if trace is not None and trace.ACTIVE:
            trace.record_effect(self)

    # ----- state dicts -----------------------------------------------------------------
    def _params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def _known_hyper(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """Saved hyperparameters this optimizer uses; torch.optim's implementation switches
        (``foreach``, ``fused``, …) dropped when off, refused when they change the update."""
        name = type(self).__name__
        kept = {}
        for k, v in hyper.items():
            if k in self.defaults or k in SCHEDULE_KEYS:
                kept[k] = v
            elif k in TORCH_SWITCHES:
                if v and self._implied.get(k) != v:
                    raise ValueError(f"{name}.load_state_dict: the saved group sets {k}={v!r}, "
                                     f"which dagrad's {name} does not implement")
            else:
                raise ValueError(f"{name}.load_state_dict: unknown hyperparameter {k!r} in the "
                                 f"saved parameter groups (this optimizer has "
                                 f"{', '.join(self.defaults)})")
        return kept

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: ``{"state": {i: {name: value}}, "param_groups": [{..., "params":
        [i, ...]}]}``, parameters numbered across groups in order; arrays are copies.

        ``dg.optim.flat_state_dict`` turns it into flat arrays for an ``.npz`` checkpoint.
        """
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p in self._params():
            if self.state.get(p):
                state[index[id(p)]] = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray)
                                           else v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and state from ``state_dict()`` (nested, as PyTorch's, or
        flat as in a checkpoint); shapes and group sizes are checked, arrays copied."""
        name = type(self).__name__
        sd = state_dict if "param_groups" in state_dict else nested_state_dict(state_dict)
        saved_groups = list(sd["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: {len(saved_groups)} parameter groups "
                             f"saved, {len(self.param_groups)} here")
        by_index: dict[int, Tensor] = {}
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            ids = [int(i) for i in np.asarray(saved.get("params", [])).ravel()]
            if len(ids) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {gi} has a different number "
                                 f"of parameters ({len(ids)} saved, {len(group['params'])} here)")
            by_index.update(zip(ids, group["params"], strict=True))
        new_state: dict[Tensor, dict[str, Any]] = {}
        for i, saved_state in sd.get("state", {}).items():
            p = by_index.get(int(i))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, but there "
                                 f"are {len(by_index)}")
            for key, value in saved_state.items():
                if value is None:
                    continue
                v = np.asarray(value)
                if v.ndim and v.shape != p.data.shape:
                    raise ValueError(f"{name}.load_state_dict: state {i}.{key} has shape "
                                     f"{v.shape}, the parameter has {p.data.shape}")
                new_state.setdefault(p, {})[key] = (
                    _to_python(v) if v.ndim == 0 else np.array(v, dtype=p.data.dtype, copy=True))
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            hyper = {k: _to_python(np.asarray(v)) if not isinstance(v, (tuple, list)) else
                     tuple(_to_python(np.asarray(x)) for x in v)
                     for k, v in saved.items() if k != "params" and v is not None}
            hyper = self._known_hyper(hyper)
            full = {**group, **hyper, "params": group["params"]}
            self._check_group(full)
            new_groups.append(full)
        self.param_groups[:] = new_groups
        self.state = new_state


def flat_state_dict(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A nested optimizer state dict as flat arrays: ``"param_groups.0.lr"``, ``"state.3.exp_avg"``
    (None values dropped), ready for an ``.npz`` file."""
    out: dict[str, np.ndarray] = {}
    for gi, group in enumerate(state_dict["param_groups"]):
        for k, v in group.items():
            if v is not None:
                out[f"param_groups.{gi}.{k}"] = _array(v, f"param_groups.{gi}.{k}")
    for i, st in state_dict["state"].items():
        for k, v in st.items():
            if v is not None:
                out[f"state.{int(i)}.{k}"] = _array(v, f"state.{i}.{k}")
    return out


def nested_state_dict(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`flat_state_dict` (keys ``param_groups.<g>.<k>``, ``state.<i>.<k>``)."""
    groups: dict[int, dict[str, Any]] = {}
    state: dict[int, dict[str, Any]] = {}
    for key, value in flat.items():
        head, _, rest = key.partition(".")
        index, _, name = rest.partition(".")
        if head not in ("param_groups", "state") or not index.isdigit() or not name:
            raise ValueError(f"optimizer state dict: unexpected key {key!r} (expected "
                             "'param_groups.<g>.<name>' or 'state.<i>.<name>')")
        v = np.asarray(value)
        if head == "state":
            state.setdefault(int(index), {})[name] = v
        else:
            groups.setdefault(int(index), {})[name] = (
                [int(x) for x in v.ravel()] if name == "params" else _to_python(v))
    if sorted(groups) != list(range(len(groups))):
        raise ValueError(f"optimizer state dict: parameter groups {sorted(groups)} are not "
                         "numbered 0, 1, ...")
    return {"state": state, "param_groups": [groups[g] for g in range(len(groups))]}


def _array(value: Any, key: str) -> np.ndarray:
    a = np.array(value, copy=True)
    if a.dtype.hasobject:
        raise ValueError(f"optimizer state dict: {key} is not an array of numbers ({value!r})")
    return a


def _to_python(v: np.ndarray) -> Any:
    """An array back to the Python value it was saved from (number, bool or tuple)."""
    if v.ndim == 0:
        return v.item()
    return tuple(x.item() for x in v)
