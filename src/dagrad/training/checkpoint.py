"""Training checkpoints: one ``.npz`` of plain arrays, written atomically, read without pickle.

Keys: ``format``; ``model.<name>`` (parameters); ``optim.<key>`` and ``sched.<key>`` (their flat
state dicts); ``epoch`` (epochs completed) and ``batch`` (batches done in the next epoch, > 0 only
after an interruption) with ``partial`` = (loss sum, correct, samples) of that epoch so far;
``rng`` (dagrad's PCG64 generator state as six uint64); ``config`` and ``history`` (JSON strings).

Loading reads every member's ``.npy`` header before any data (``dagrad.npz``) and raises
``ValueError("<path>: ...")`` naming the member for: a member that is not one of these keys
(refused, never inflated: a checkpoint is dagrad's own format, so an extra member means the
file is not what ``save_checkpoint`` wrote), a non-``.npy`` member, an object or unexpected
dtype or shape, a header whose size disagrees with its zip entry, declared sizes above
``max_bytes`` in all (default 1 GiB), and a ``dagrad train`` config (one naming
``input_dim``, ``hidden`` or ``num_classes``) whose MLP differs from the stored parameters —
so rebuilding the model from the config never allocates more than the file declares.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..atomic import save_npz
from ..i18n import N_, _
from ..npz import MAX_BYTES, NpzReader
from ..optim.optimizer import flat_state_dict
from ..sizes import format_bytes
from ..tensor import STATE

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "rng_to_array", "rng_from_array",
           "config_parameter_shapes", "FORMAT", "FIXED_KEYS"]

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
                    optimizer_state: dict[str, Any] | None = None,
                    scheduler_state: dict[str, np.ndarray] | None = None, epoch: int = 0,
                    batch: int = 0, partial: tuple[float, int, int] = (0.0, 0, 0),
                    config: dict[str, Any] | None = None,
                    history: list[dict[str, Any]] | None = None,
                    rng: np.random.Generator | None = None) -> str:
    """Write the training state to ``path`` atomically (readers see the old or the new file)."""
    arrays: dict[str, Any] = {"format": np.array(FORMAT)}
    arrays.update({f"model.{k}": v for k, v in model_state.items()})
    if optimizer_state and "param_groups" in optimizer_state:  # PyTorch's nested layout
        optimizer_state = flat_state_dict(optimizer_state)
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


#: Members a checkpoint holds besides the ``model.``/``optim.``/``sched.`` arrays.
FIXED_KEYS = ("format", "epoch", "batch", "partial", "rng", "config", "history")
_PREFIXES = ("model.", "optim.", "sched.")
#: ``dagrad train`` config keys that describe the MLP's architecture, and their defaults.
_ARCH_DEFAULTS: dict[str, Any] = {"input_dim": 784, "hidden": [256, 256], "num_classes": 10,
                                  "dtype": "float32"}


def _config_sizes(config: dict[str, Any], where: str) -> tuple[list[int], str]:
    """([input_dim, *hidden, num_classes], dtype name) of a config, defaults filled in."""
    cfg = {**_ARCH_DEFAULTS, **{k: config[k] for k in _ARCH_DEFAULTS if k in config}}
    hidden = cfg["hidden"]
    if not isinstance(hidden, list):
        raise ValueError(_("{where}: 'hidden' must be a list of layer sizes, got "
                           "{hidden!r}").format(where=where, hidden=hidden))
    sizes = [cfg["input_dim"], *hidden, cfg["num_classes"]]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
        raise ValueError(_("{where}: layer sizes must be positive integers, got input_dim "
                           "{input_dim!r}, hidden {hidden!r}, num_classes "
                           "{num_classes!r}").format(where=where, input_dim=cfg["input_dim"],
                                                     hidden=hidden,
                                                     num_classes=cfg["num_classes"]))
    try:
        dtype = np.dtype(cfg["dtype"])
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind != "f":
        raise ValueError(_("{where}: 'dtype' must name a float dtype, got {dtype!r}").format(
            where=where, dtype=cfg["dtype"]))
    return sizes, str(dtype)


def config_parameter_shapes(config: dict[str, Any], where: str = "config"
                            ) -> dict[str, tuple[tuple[int, ...], str]]:
    """Parameter name -> (shape, dtype) of the MLP [input_dim, *hidden, num_classes] a config names.

    The ``dagrad train`` layout: Linear layers at Sequential indices 0, 2, 4, … (an activation
    between them), weight (out, in) and bias (out,). Computed from the numbers alone: nothing
    is allocated, however large they are.
    """
    sizes, dtype = _config_sizes(config, where)
    shapes = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        shapes[f"{2 * i}.weight"] = ((n_out, n_in), dtype)
        shapes[f"{2 * i}.bias"] = ((n_out,), dtype)
    return shapes


def _check_member_kinds(name: str, z: NpzReader) -> None:
    """Refuse unknown members, and declared dtypes/shapes that are not what save wrote."""
    for key in z.keys:
        if key not in FIXED_KEYS and not key.startswith(_PREFIXES):
            raise ValueError(_(
                "{name}: unexpected member {member!r} ({size} declared), not part of a {format} "
                "file (format, epoch, batch, partial, rng, config, history, model.*, optim.*, "
                "sched.*); refused without reading it").format(
                    name=name, member=key + ".npy", size=format_bytes(z.stored_size(key)),
                    format=FORMAT))
    rules: dict[str, tuple[str, tuple[int, ...] | None, str]] = {
        "format": ("U", (), N_("a string")), "config": ("U", (), N_("a JSON string")),
        "history": ("U", (), N_("a JSON string")),
        "epoch": ("iu", (), N_("a non-negative integer")),
        "batch": ("iu", (), N_("a non-negative integer")), "partial": ("f", (3,), N_("3 floats")),
        "rng": ("u", (6,), N_("6 uint64")),
    }
    for key in z.keys:
        h = z.header(key)
        model = key.startswith("model.")
        kinds, shape, want = rules.get(key, ("f", None, N_("floats")) if model else
                                       ("biufU", None, N_("numbers or strings"))
                                       if key.startswith("sched.") else   # mode="min", …
                                       ("biuf", None, N_("numbers")))
        if h.dtype.kind not in kinds or h.dtype.fields is not None or (
                shape is not None and h.shape != shape) or (key == "rng" and h.dtype.itemsize != 8):
            raise ValueError(_("{name}: member {member!r} must hold {want}, its header "
                               "declares {dtype} {shape}").format(
                                   name=name, member=key + ".npy", want=_(want), dtype=h.dtype,
                                   shape=h.shape))


def _layer_order(key: str) -> tuple[int, int, str]:
    """Sort "0.weight", "0.bias", "2.weight", … by layer, weight first; other names last."""
    index, _dot, rest = key.partition(".")
    return (int(index) if index.isdigit() else 1 << 30, rest != "weight", key)


def _check_architecture(name: str, z: NpzReader, config: dict[str, Any]) -> None:
    """A ``dagrad train`` config's MLP must have exactly the stored parameters' shapes."""
    if not any(k in config for k in ("input_dim", "hidden", "num_classes")):
        return  # not a `dagrad train` run: the model is the caller's to rebuild
    expected = config_parameter_shapes(config, _("{name}: member {member!r}").format(
        name=name, member="config.npy"))
    stored = {k[6:]: z.header(k) for k in z.keys if k.startswith("model.")}
    problems = []
    for key in sorted(set(expected) | set(stored), key=_layer_order):
        if key not in stored:
            problems.append(_("{member} missing").format(member=f"model.{key}"))
        elif key not in expected:
            problems.append(_("{member} not in the config's MLP").format(member=f"model.{key}"))
        elif (stored[key].shape, str(stored[key].dtype)) != expected[key]:
            problems.append(_("{member} is {dtype} {shape}, the config says {want_dtype} "
                              "{want_shape}").format(
                                  member=f"model.{key}", dtype=stored[key].dtype,
                                  shape=stored[key].shape, want_dtype=expected[key][1],
                                  want_shape=expected[key][0]))
    if problems:
        sizes, _dtype = _config_sizes(config, name)
        shown = "; ".join(problems[:4]) + ("; " + _("… ({n} in all)").format(n=len(problems))
                                           if len(problems) > 4 else "")
        raise ValueError(_("{name}: its config describes an MLP {sizes} that does not match the "
                           "stored parameters: {problems}").format(name=name, sizes=sizes,
                                                                   problems=shown))


def _read_json(name: str, z: NpzReader, key: str, kind: type) -> Any:
    value = str(z.read(key))
    try:
        out = json.loads(value)
    except json.JSONDecodeError as e:
        raise ValueError(_("{name}: member {member!r} is not valid JSON ({error})").format(
            name=name, member=f"{key}.npy", error=e)) from None
    if not isinstance(out, kind):
        raise ValueError(_("{name}: member {member!r} must be a JSON {kind}").format(
            name=name, member=f"{key}.npy", kind=kind.__name__))
    return out


def load_checkpoint(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES) -> Checkpoint:
    """Read and validate a checkpoint (no pickle, at most ``max_bytes``); else a ValueError.

    Headers are read before any data: unknown members (refused, never inflated), object or
    unexpected dtypes, a total declared size above ``max_bytes`` and a ``dagrad train``
    config whose MLP does not match the stored parameters are all refused before a single
    array is allocated. Every message starts with the file's name and names the member.
    """
    name = os.fspath(path)
    with NpzReader(name, max_bytes) as z:
        keys = set(z.keys)
        found = None
        if "format" in keys:
            h = z.header("format")
            small_string = h.dtype.kind == "U" and h.shape == () and h.nbytes <= 1024
            found = str(z.read("format")) if small_string else f"<{h.describe()}>"
        if found != FORMAT:
            raise ValueError(_("{name}: not a dagrad training checkpoint (format {found!r}, "
                               "expected {expected!r})").format(name=name, found=found,
                                                               expected=FORMAT))
        missing = [k for k in FIXED_KEYS if k not in keys]
        if missing:
            raise ValueError(_("{name}: checkpoint lacks {members}").format(
                name=name, members=", ".join(missing)))
        if not any(k.startswith("model.") for k in keys):
            raise ValueError(_("{name}: checkpoint holds no model parameters").format(name=name))
        _check_member_kinds(name, z)
        z.check_budget([k for k in z.keys if k != "format"])
        config = _read_json(name, z, "config", dict)
        _check_architecture(name, z, config)
        history = _read_json(name, z, "history", list)
        arrays = {k: z.read(k) for k in z.keys if k not in ("format", "config", "history")}
    model = {k[6:]: v for k, v in arrays.items() if k.startswith("model.")}
    for k, v in model.items():
        if not np.all(np.isfinite(v)):
            raise ValueError(_("{name}: parameter {parameter} must be finite floats "
                               "({dtype})").format(name=name, parameter=k, dtype=v.dtype))
    epoch, batch, partial = int(arrays["epoch"]), int(arrays["batch"]), arrays["partial"]
    for key, value in (("epoch", epoch), ("batch", batch)):
        if value < 0:
            raise ValueError(_("{name}: {member!r} must be a non-negative integer, got "
                               "{value}").format(name=name, member=key, value=value))
    return Checkpoint(
        model=model,
        optimizer={k[6:]: v for k, v in arrays.items() if k.startswith("optim.")},
        scheduler={k[6:]: v for k, v in arrays.items() if k.startswith("sched.")},
        epoch=epoch,
        batch=batch,
        partial=(float(partial[0]), int(partial[1]), int(partial[2])),
        rng=arrays["rng"],
        config=config,
        history=history,
        path=name,
    )
