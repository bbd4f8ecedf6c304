"""Training checkpoints: one ``.npz`` of plain arrays, written atomically, read without pickle.

Keys: ``format``; ``model.<name>`` (parameters); ``optim.<key>`` and ``sched.<key>`` (their flat
state dicts); ``epoch`` (epochs completed) and ``batch`` (batches done in the next epoch, > 0 only
after an interruption) with ``partial`` = (loss sum, correct, samples) of that epoch so far;
``rng`` (dagrad's PCG64 generator state as six uint64); ``config`` and ``history`` (JSON strings).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..atomic import load_npz, save_npz
from ..tensor import STATE

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "rng_to_array", "rng_from_array",
           "FORMAT"]

FORMAT = "dagrad-checkpoint-1"
_MASK = (1 << 64) - 1


@dataclass
class Checkpoint:
    """What a checkpoint holds, as plain Python values and arrays."""

    model: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray] = field(default_factory=dict)
    scheduler: dict[str, np.ndarray] = field(default_factory=dict)
    epoch: int = 0
    batch: int = 0
    partial: tuple[float, int, int] = (0.0, 0, 0)
    rng: np.ndarray | None = None
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    path: str | None = None


def rng_to_array(rng: np.random.Generator) -> np.ndarray:
    """A PCG64 generator's state as uint64 [state_hi, state_lo, inc_hi, inc_lo, has32, u32]."""
    st = rng.bit_generator.state
    if st.get("bit_generator") != "PCG64":
        raise ValueError(f"cannot save a {st.get('bit_generator')} generator (PCG64 only)")
    s, inc = st["state"]["state"], st["state"]["inc"]
    return np.array([s >> 64, s & _MASK, inc >> 64, inc & _MASK, st["has_uint32"],
                     st["uinteger"]], dtype=np.uint64)


def rng_from_array(arr: np.ndarray) -> np.random.Generator:
    """The generator ``rng_to_array`` described."""
    a = [int(x) for x in np.asarray(arr, dtype=np.uint64)]
    if len(a) != 6:
        raise ValueError(f"RNG state must have 6 entries, got {len(a)}")
    bg = np.random.PCG64()
    bg.state = {"bit_generator": "PCG64",
                "state": {"state": (a[0] << 64) | a[1], "inc": (a[2] << 64) | a[3]},
                "has_uint32": a[4], "uinteger": a[5]}
    return np.random.Generator(bg)


def save_checkpoint(path: str | os.PathLike, model_state: dict[str, np.ndarray], *,
                    optimizer_state: dict[str, np.ndarray] | None = None,
                    scheduler_state: dict[str, np.ndarray] | None = None, epoch: int = 0,
                    batch: int = 0, partial: tuple[float, int, int] = (0.0, 0, 0),
                    config: dict[str, Any] | None = None,
                    history: list[dict[str, Any]] | None = None,
                    rng: np.random.Generator | None = None) -> str:
    """Write the training state to ``path`` atomically (readers see the old or the new file)."""
    arrays: dict[str, Any] = {"format": np.array(FORMAT)}
    arrays.update({f"model.{k}": v for k, v in model_state.items()})
    arrays.update({f"optim.{k}": v for k, v in (optimizer_state or {}).items()})
    arrays.update({f"sched.{k}": v for k, v in (scheduler_state or {}).items()})
    arrays["epoch"] = np.array(int(epoch), dtype=np.int64)
    arrays["batch"] = np.array(int(batch), dtype=np.int64)
    arrays["partial"] = np.array(partial, dtype=np.float64)
    arrays["rng"] = rng_to_array(rng if rng is not None else STATE.rng)
    arrays["config"] = np.array(json.dumps(config or {}, sort_keys=True))
    arrays["history"] = np.array(json.dumps(history or []))
    save_npz(path, **arrays)
    return os.fspath(path)


def _scalar_int(arrays: dict[str, np.ndarray], key: str, name: str) -> int:
    v = arrays[key]
    if v.shape != () or v.dtype.kind not in "iu" or int(v) < 0:
        raise ValueError(f"{name}: '{key}' must be a non-negative integer, got {v.dtype} "
                         f"{v.shape}")
    return int(v)


def _json(arrays: dict[str, np.ndarray], key: str, name: str, kind: type) -> Any:
    v = arrays[key]
    if v.shape != () or v.dtype.kind != "U":
        raise ValueError(f"{name}: '{key}' must be a JSON string")
    try:
        value = json.loads(str(v))
    except json.JSONDecodeError as e:
        raise ValueError(f"{name}: '{key}' is not valid JSON ({e})") from None
    if not isinstance(value, kind):
        raise ValueError(f"{name}: '{key}' must be a JSON {kind.__name__}")
    return value


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint (``allow_pickle=False``); any problem is a ValueError."""
    name = os.fspath(path)
    arrays = load_npz(name)
    fmt = arrays.get("format")
    if fmt is None or fmt.dtype.kind != "U" or str(fmt) != FORMAT:
        raise ValueError(f"{name}: not a dagrad training checkpoint (format "
                         f"{None if fmt is None else str(fmt)!r}, expected {FORMAT!r})")
    required = ("epoch", "batch", "partial", "rng", "config", "history")
    missing = [k for k in required if k not in arrays]
    if missing:
        raise ValueError(f"{name}: checkpoint lacks {', '.join(missing)}")
    model = {k[6:]: v for k, v in arrays.items() if k.startswith("model.")}
    if not model:
        raise ValueError(f"{name}: checkpoint holds no model parameters")
    for k, v in model.items():
        if v.dtype.kind != "f" or not np.all(np.isfinite(v)):
            raise ValueError(f"{name}: parameter {k} must be finite floats ({v.dtype})")
    partial = arrays["partial"]
    if partial.shape != (3,) or partial.dtype.kind != "f":
        raise ValueError(f"{name}: 'partial' must hold 3 floats")
    rng = arrays["rng"]
    if rng.shape != (6,) or rng.dtype != np.uint64:
        raise ValueError(f"{name}: 'rng' must hold 6 uint64")
    return Checkpoint(
        model=model,
        optimizer={k[6:]: v for k, v in arrays.items() if k.startswith("optim.")},
        scheduler={k[6:]: v for k, v in arrays.items() if k.startswith("sched.")},
        epoch=_scalar_int(arrays, "epoch", name),
        batch=_scalar_int(arrays, "batch", name),
        partial=(float(partial[0]), int(partial[1]), int(partial[2])),
        rng=rng,
        config=_json(arrays, "config", name, dict),
        history=_json(arrays, "history", name, list),
        path=name,
    )
