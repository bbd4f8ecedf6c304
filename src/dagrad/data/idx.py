"""Read and write IDX files (the MNIST format), raw or gzip-compressed.

Layout: two zero bytes, a type code, the number of dimensions ``ndim``; then ``ndim``
big-endian uint32 sizes; then the data, big-endian, C order. Every format error is a
``ValueError`` whose message starts with the file name.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

from ..atomic import atomic_write

__all__ = ["read_idx", "write_idx", "IDX_TYPES"]

#: IDX type code -> NumPy dtype (IDX stores big-endian).
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(np.int16),
    0x0C: np.dtype(np.int32),
    0x0D: np.dtype(np.float32),
    0x0E: np.dtype(np.float64),
}
_CODES = {dtype: code for code, dtype in IDX_TYPES.items()}
_TYPE_NAMES = "0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double"
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(name: str) -> bytes:
    """Return the file's content, gunzipped when it is named .gz or starts like gzip."""
    with open(name, "rb") as f:
        data = f.read()
    if name.endswith(".gz") or data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{name}: corrupt gzip data ({exc})") from exc
    return data


def _parse(name: str, data: bytes) -> np.ndarray:
    """Validate an IDX byte string and return its array in native byte order."""
    if len(data) < 4:
        raise ValueError(f"{name}: truncated: {len(data)} bytes, too short for an IDX header")
    if data[:2] != b"\x00\x00":
        magic = int.from_bytes(data[:4], "big")
        raise ValueError(
            f"{name}: bad magic number 0x{magic:08X}: an IDX file starts with two zero bytes"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{name}: unknown IDX type code 0x{code:02X} (valid: {_TYPE_NAMES})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{name}: truncated: header of {ndim} dimensions needs {header} bytes, "
            f"found {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[code]
    count = math.prod(shape)
    expected, found = count * dtype.itemsize, len(data) - header
    if found != expected:
        problem = "truncated" if found < expected else "trailing bytes"
        extra = f" ({found - expected} extra)" if found > expected else ""
        raise ValueError(
            f"{name}: {problem}: expected {expected} bytes of data after the {header}-byte "
            f"header ({header + expected} in all), found {found}{extra}"
        )
    big = np.frombuffer(data, dtype=dtype.newbyteorder(">"), count=count, offset=header)
    return big.astype(dtype).reshape(shape)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or .gz) into a native-endian NumPy array, validating it."""
    name = os.fspath(path)
    return _parse(name, _read_bytes(name))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as an IDX file atomically, gzip-compressed when the name ends in .gz."""
    name = os.fspath(path)
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder("=")
    if dtype not in _CODES:
        supported = ", ".join(str(d) for d in _CODES)
        raise ValueError(f"{name}: cannot store dtype {array.dtype} in IDX (use {supported})")
    if array.ndim > 255 or any(n >= 2**32 for n in array.shape):
        raise ValueError(f"{name}: shape {array.shape} does not fit an IDX header")
    header = bytes([0, 0, _CODES[dtype], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=dtype.newbyteorder(">")).tobytes()
    if name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with atomic_write(name, "wb") as f:
        f.write(payload)
