"""Read and write IDX files (the MNIST format), raw or gzip-compressed.

Layout: two zero bytes, a type code, the number of dimensions ``ndim``; then ``ndim``
big-endian uint32 sizes; then the data, big-endian, C order. Every format error is a
``ValueError`` whose message starts with the file name. Reading is bounded by the header:
its declared size is checked against a limit before any data is read, and a gzip stream is
never inflated beyond the declared data (plus a little to count trailing bytes).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import numpy as np

from ..atomic import atomic_write
from ..sizes import MAX_LOAD_BYTES, format_bytes

__all__ = ["read_idx", "read_idx_header", "write_idx", "IdxHeader", "IDX_TYPES"]

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
_CHUNK = 1 << 20
_TRAILING_SHOWN = 1 << 20  # trailing bytes counted before giving up (a gzip may inflate to GBs)


@dataclass(frozen=True)
class IdxHeader:
    """What an IDX header declares: nbytes = prod(shape) · itemsize bytes of data follow."""

    path: str
    dtype: np.dtype
    shape: tuple[int, ...]
    offset: int  # header bytes (4 + 4 · ndim)
    nbytes: int
    gzipped: bool


def _is_gzip(name: str, f: IO[bytes]) -> bool:
    """True when the file is named .gz or starts with the gzip magic bytes (f is rewound)."""
    head = f.read(2)
    f.seek(0)
    return name.endswith(".gz") or head == _GZIP_MAGIC


def _read_up_to(stream: IO[bytes], n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the stream)."""
    parts, left = [], n
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


@contextmanager
def _opened(name: str) -> Iterator[tuple[IO[bytes], bool, int]]:
    """(stream of the IDX bytes, gzipped?, file size); gzip errors become ValueErrors."""
    with open(name, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if not _is_gzip(name, f):
            yield f, False, size
            return
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                yield stream, True, size
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise ValueError(f"{name}: corrupt gzip data ({exc})") from exc


def _header(name: str, stream: IO[bytes], gzipped: bool) -> IdxHeader:
    """Read and validate the header; the stream is left at the first data byte."""
    head = _read_up_to(stream, 4)
    if len(head) < 4:
        raise ValueError(f"{name}: truncated: {len(head)} bytes, too short for an IDX header")
    if head[:2] != b"\x00\x00":
        magic = int.from_bytes(head, "big")
        raise ValueError(
            f"{name}: bad magic number 0x{magic:08X}: an IDX file starts with two zero bytes"
        )
    code, ndim = head[2], head[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{name}: unknown IDX type code 0x{code:02X} (valid: {_TYPE_NAMES})")
    offset = 4 + 4 * ndim
    dims = _read_up_to(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(
            f"{name}: truncated: header of {ndim} dimensions needs {offset} bytes, "
            f"found {4 + len(dims)}"
        )
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = IDX_TYPES[code]
    return IdxHeader(name, dtype, shape, offset, math.prod(shape) * dtype.itemsize, gzipped)


def read_idx_header(path: str | os.PathLike) -> IdxHeader:
    """Read only an IDX file's header (dtype, shape, data size); the data is not read."""
    name = os.fspath(path)
    with _opened(name) as (stream, gzipped, _):
        return _header(name, stream, gzipped)


def _size_error(h: IdxHeader, found: int, more: bool = False) -> ValueError:
    """The truncated / trailing-bytes message (``more``: stopped reading after ``found``)."""
    problem = "truncated" if found < h.nbytes else "trailing bytes"
    if more:
        extra = f" (more than {found - h.nbytes} extra; stopped reading there)"
        found_text = f"more than {found}"
    else:
        extra = f" ({found - h.nbytes} extra)" if found > h.nbytes else ""
        found_text = str(found)
    return ValueError(
        f"{h.path}: {problem}: expected {h.nbytes} bytes of data after the {h.offset}-byte "
        f"header ({h.offset + h.nbytes} in all), found {found_text}{extra}"
    )


def read_idx(path: str | os.PathLike, max_bytes: int = MAX_LOAD_BYTES) -> np.ndarray:
    """Read an IDX file (raw or .gz) into a native-endian NumPy array, validating it.

    The header's declared size is checked against ``max_bytes`` (default 1 GiB) and, for a
    raw file, against the file's size before any data is read; a gzip stream is inflated in
    chunks into the declared array and reading stops at the first byte beyond it.
    """
    name = os.fspath(path)
    with _opened(name) as (stream, gzipped, size):
        h = _header(name, stream, gzipped)
        if h.nbytes > max_bytes:
            raise ValueError(
                f"{name}: its header declares {h.dtype} data of shape {h.shape} "
                f"({format_bytes(h.nbytes)}), above the limit of {format_bytes(max_bytes)} "
                "(max_bytes); refused before reading the data"
            )
        if not gzipped and size - h.offset != h.nbytes:
            raise _size_error(h, size - h.offset)
        data = np.empty(h.shape, dtype=h.dtype.newbyteorder(">"))
        view = memoryview(data.reshape(-1).view(np.uint8)) if h.nbytes else memoryview(b"")
        done = 0
        while done < h.nbytes:
            chunk = stream.read(min(_CHUNK, h.nbytes - done))
            if not chunk:
                raise _size_error(h, done)
            view[done:done + len(chunk)] = chunk
            done += len(chunk)
        extra = len(_read_up_to(stream, _TRAILING_SHOWN + 1))
        if extra:
            raise _size_error(h, h.nbytes + min(extra, _TRAILING_SHOWN), extra > _TRAILING_SHOWN)
    if data.dtype.byteorder not in ("=", "|") and data.dtype.itemsize > 1:
        data = data.byteswap(inplace=True).view(h.dtype)  # native order, no second copy
    return data.view(h.dtype)


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
