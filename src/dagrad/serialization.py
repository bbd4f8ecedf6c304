"""``dg.save(obj, path)`` / ``dg.load(path)``: tensors, arrays and nested dicts/lists of them in
the safe ``.npz`` format — never pickle.

The file is an ordinary ``.npz`` archive: one ``.npy`` member per tensor or array (``a0``,
``a1``, …) and a member ``__dagrad__`` holding, as UTF-8 JSON bytes, the structure that ties them
together (dicts with their str/int keys in order, lists, tuples, Python scalars and strings,
where each tensor or array sits).  It is written atomically (:mod:`dagrad.atomic`: readers see
the old file or the new one) and read with the bounded, pickle-free :class:`dagrad.npz.NpzReader`
(object arrays refused, sizes checked before anything is allocated).  ``numpy.load(path,
allow_pickle=False)`` opens it too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "FORMAT", "STRUCTURE_KEY"]

FORMAT = "dagrad.save/1"
STRUCTURE_KEY = "__dagrad__"
_MAX_STRUCTURE_BYTES = 64 << 20  # the JSON member: 64 MiB is far beyond any state dict
_MAX_DEPTH = 200  # nesting of dicts/lists accepted on load (and written on save)
_KINDS = "biufc"  # the dtypes stored: numbers and booleans

PathLike = str | os.PathLike


def _describe(x: Any) -> str:
    """What a value is, for an error: 'a function', 'a set', 'an object of type Foo'."""
    if hasattr(x, "state_dict") and not isinstance(x, type):
        return f"an object of type {type(x).__name__} (save its state_dict() instead)"
    if callable(x) and not isinstance(x, type):
        return "a function" if hasattr(x, "__code__") else f"a callable {type(x).__name__}"
    name = type(x).__name__
    return f"a {name}" if type(x).__module__ == "builtins" else f"an object of type {name}"


class _Writer:
    """Walks the object once: the JSON structure, and the arrays in the order found."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.arrays: dict[str, np.ndarray] = {}

    def _fail(self, where: str, what: str) -> TypeError:
        return TypeError(f"dg.save: cannot store {what} at {where} (saving {self.path}); "
                         "dg.save stores tensors, arrays, dicts, lists, tuples, numbers, "
                         "strings and None")

    def _array(self, arr: np.ndarray, where: str) -> str:
        if arr.dtype.kind not in _KINDS:
            raise self._fail(where, f"an array of dtype {arr.dtype}")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
        return key

    def node(self, x: Any, where: str, depth: int = 0) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise self._fail(where, f"a structure nested deeper than {_MAX_DEPTH} levels")
        if isinstance(x, Tensor):
            return {"t": "tensor", "k": self._array(x.data, where),
                    "grad": bool(x.requires_grad)}
        if isinstance(x, np.ndarray):
            return {"t": "ndarray", "k": self._array(x, where)}
        if isinstance(x, np.generic):
            return {"t": "npscalar", "k": self._array(np.asarray(x), where)}
        if x is None:
            return {"t": "none"}
        if isinstance(x, bool):
            return {"t": "bool", "v": x}
        if isinstance(x, int):
            return {"t": "int", "v": str(x)}  # as text: JSON readers may round big ints
        if isinstance(x, float):
            return {"t": "float", "v": repr(x)}  # inf and nan included, exactly
        if isinstance(x, str):
            return {"t": "str", "v": x}
        if isinstance(x, Mapping):
            items = []
            for k, v in x.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise self._fail(f"{where}[{k!r}]", f"a dict key of type {type(k).__name__} "
                                     "(keys must be str or int)")
                kn = ["s", k] if isinstance(k, str) else ["i", str(k)]
                items.append([kn, self.node(v, f"{where}[{k!r}]", depth + 1)])
            return {"t": "dict", "items": items}
        if isinstance(x, (list, tuple)) and (type(x) in (list, tuple)):
            return {"t": type(x).__name__,
                    "items": [self.node(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(x)]}
        raise self._fail(where, _describe(x))


def save(obj: Any, path: PathLike, *, compress: bool = False) -> None:
    """Write ``obj`` — tensors, arrays, (nested) dicts/lists/tuples of them, numbers, strings —
    to ``path`` as a safe ``.npz`` (no pickle), atomically; anything else is a TypeError naming
    where it sits (``state['fn']``).  ``compress=True`` deflates the arrays."""
    from .atomic import save_npz  # the writer of the crash-safe files

    p = os.fspath(path)
    w = _Writer(p)
    tree = w.node(obj, "obj")
    doc = json.dumps({"format": FORMAT, "root": tree}, ensure_ascii=False,
                     allow_nan=False).encode("utf-8")
    structure = np.frombuffer(doc, dtype=np.uint8)
    save_npz(p, compress=compress, **{STRUCTURE_KEY: structure}, **w.arrays)


class _Reader:
    """Rebuilds the object from the JSON structure, reading each array it names once."""

    def __init__(self, path: str, archive: Any) -> None:
        self.path = path
        self.archive = archive
        self.used: set[str] = set()

    def _bad(self, where: str, what: str) -> ValueError:
        return ValueError(f"{self.path}: not a valid dg.save file: {what} at {where}")

    def _array(self, node: Mapping[str, Any], where: str) -> np.ndarray:
        key = node.get("k")
        if not isinstance(key, str) or key == STRUCTURE_KEY or key not in self.archive.keys:
            raise self._bad(where, f"a reference to a missing array member {key!r}")
        if key in self.used:
            raise self._bad(where, f"array member {key!r} referenced twice")
        self.used.add(key)
        arr = self.archive.read(key)
        if arr.dtype.kind not in _KINDS:
            raise self._bad(where, f"array member {key!r} of dtype {arr.dtype}")
        return arr

    def node(self, node: Any, where: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self._bad(where, f"nesting deeper than {_MAX_DEPTH} levels")
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise self._bad(where, "an entry without a type")
        kind = node["t"]
        try:
            if kind == "tensor":
                arr = self._array(node, where)
                grad = node.get("grad", False) is True and arr.dtype.kind == "f"
                return Tensor(arr, requires_grad=grad)
            if kind == "ndarray":
                return self._array(node, where)
            if kind == "npscalar":
                arr = self._array(node, where)
                if arr.ndim != 0:
                    raise self._bad(where, f"a scalar stored with shape {arr.shape}")
                return arr[()]
            if kind == "none":
                return None
            if kind == "bool" and isinstance(node.get("v"), bool):
                return node["v"]
            if kind == "int" and isinstance(node.get("v"), str) and len(node["v"]) <= 4300:
                return int(node["v"])
            if kind == "float" and isinstance(node.get("v"), str) and len(node["v"]) <= 40:
                return float(node["v"])
            if kind == "str" and isinstance(node.get("v"), str):
                return node["v"]
            if kind in ("list", "tuple") and isinstance(node.get("items"), list):
                items = [self.node(v, f"{where}[{i}]", depth + 1)
                         for i, v in enumerate(node["items"])]
                return items if kind == "list" else tuple(items)
            if kind == "dict" and isinstance(node.get("items"), list):
                out: dict[Any, Any] = {}
                for pair in node["items"]:
                    if not (isinstance(pair, list) and len(pair) == 2
                            and isinstance(pair[0], list) and len(pair[0]) == 2
                            and pair[0][0] in ("s", "i") and isinstance(pair[0][1], str)):
                        raise self._bad(where, "a malformed dict entry")
                    k: Any = pair[0][1] if pair[0][0] == "s" else int(pair[0][1])
                    if k in out:
                        raise self._bad(where, f"the dict key {k!r} twice")
                    out[k] = self.node(pair[1], f"{where}[{k!r}]", depth + 1)
                return out
        except (ValueError, OverflowError) as exc:
            if str(exc).startswith(self.path):
                raise
            raise self._bad(where, f"a bad {kind} value ({exc})") from None
        raise self._bad(where, f"an entry of unknown type {kind!r}")


def load(path: PathLike, *, max_bytes: int | None = None, weights_only: bool = True,
         map_location: Any = None) -> Any:
    """Read what :func:`save` wrote: the same structure, tensors as Tensors (``requires_grad``
    as saved), arrays as ndarrays.  Never unpickles; a damaged or foreign file, or arrays
    declaring more than ``max_bytes`` in all (default 1 GiB), raise ValueError naming the path.
    ``weights_only`` and ``map_location=None|"cpu"`` are accepted for PyTorch's habits (dagrad
    always loads only data, on the CPU)."""
    from .npz import MAX_BYTES, NpzReader  # imported here to keep `import dagrad` light

    p = os.fspath(path)
    if map_location not in (None, "cpu"):
        raise ValueError(f"dg.load: map_location={map_location!r} is not supported (dagrad runs "
                         "on the CPU; pass None or 'cpu')")
    if weights_only is not True:
        raise ValueError("dg.load: weights_only=False would allow arbitrary objects; dagrad's "
                         "format holds only data, so it is always loaded with weights_only")
    with NpzReader(p, MAX_BYTES if max_bytes is None else max_bytes) as archive:
        if STRUCTURE_KEY not in archive.keys:
            raise ValueError(f"{p}: not a dg.save file (no {STRUCTURE_KEY!r} member); a plain "
                             ".npz is read with dagrad.atomic.load_npz")
        h = archive.header(STRUCTURE_KEY)
        if h.dtype != np.uint8 or len(h.shape) != 1 or h.nbytes > _MAX_STRUCTURE_BYTES:
            raise ValueError(f"{p}: not a valid dg.save file: its {STRUCTURE_KEY!r} member is "
                             f"{h.describe()}, not the bytes of a JSON document")
        archive.check_budget(archive.keys)
        raw = archive.read(STRUCTURE_KEY).tobytes()
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{p}: not a valid dg.save file: its structure is not JSON "
                             f"({type(exc).__name__})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or "root" not in doc:
            found = doc.get("format") if isinstance(doc, dict) else None
            raise ValueError(f"{p}: not a dg.save file of format {FORMAT!r} (found {found!r})")
        reader = _Reader(p, archive)
        out = reader.node(doc["root"], "obj")
        unused = set(archive.keys) - reader.used - {STRUCTURE_KEY}
        if unused:
            raise ValueError(f"{p}: not a valid dg.save file: members "
                             f"{sorted(unused)[:5]} belong to no entry")
        return out
