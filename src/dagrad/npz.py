"""Bounded, pickle-free reading of ``.npz`` archives: headers first, data only when asked.

An ``.npz`` is a zip whose members are ``.npy`` files. ``NpzReader`` lists the members from
the zip directory without reading any of them; ``header(key)`` reads one member's ``.npy``
header (shape, dtype) without its data; ``read(key)`` checks the declared size against the
zip entry and against the byte budget *before* allocating, then reads exactly that many bytes
in chunks (a member that inflates to more than it declares is never inflated past its
declaration). Every problem is a ``ValueError("<path>: <problem>")`` naming the member.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from .i18n import _
from .sizes import MAX_LOAD_BYTES, format_bytes

__all__ = ["NpzReader", "ArrayHeader", "MAX_BYTES"]

MAX_BYTES = MAX_LOAD_BYTES  #: default budget of one reader (all members together)
_CHUNK = 1 << 20


def _why(exc: BaseException) -> str:
    """An exception as a short phrase: its message, or its type when it has none."""
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class ArrayHeader:
    """What a member's ``.npy`` header declares: nbytes = prod(shape) · itemsize."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    nbytes: int
    offset: int  # bytes of .npy header before the data

    def describe(self) -> str:
        """``float32 (256, 784), 784.0 KiB``."""
        return f"{self.dtype} {self.shape}, {format_bytes(self.nbytes)}"


class NpzReader:
    """An open ``.npz`` archive; ``read(key)`` loads one array within ``max_bytes`` in all."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> None:
        self.path = os.fspath(path)
        self.max_bytes = int(max_bytes)
        self.loaded = 0
        self._headers: dict[str, ArrayHeader] = {}
        name = self.path
        if not os.path.exists(name):
            raise ValueError(_("{path}: no such file").format(path=name))
        if not os.path.isfile(name):
            raise ValueError(_("{path}: not a regular file").format(path=name))
        self._file: IO[bytes] = open(name, "rb")  # noqa: SIM115 - closed by close()
        try:
            head = self._file.read(4)
            if head[:2] != b"PK":
                empty = _(" (empty file)") if not head else ""
                raise ValueError(_("{path}: not an .npz (zip) archive{empty}").format(
                    path=name, empty=empty))
            self._file.seek(0)
            try:
                self._zip = zipfile.ZipFile(self._file)
            except Exception as exc:  # noqa: BLE001 - whatever zipfile raises, one error type
                raise ValueError(_("{path}: corrupt or truncated archive ({why})").format(
                    path=name, why=_why(exc))) from exc
            self._infos = self._index()
        except BaseException:
            self._file.close()
            raise

    def _index(self) -> dict[str, zipfile.ZipInfo]:
        """Member key (name without .npy) -> zip entry; refuses what np.savez never writes."""
        infos: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            member = info.filename
            if not member.endswith(".npy") or info.is_dir():
                raise ValueError(_("{path}: member {member} is not a NumPy .npy array (an .npz "
                                   "holds only .npy members)").format(path=self.path,
                                                                      member=repr(member)))
            key = member[:-4]
            if key in infos:
                raise ValueError(_("{path}: member {member} appears twice").format(
                    path=self.path, member=repr(member)))
            if info.flag_bits & 0x1:
                raise ValueError(_("{path}: member {member} is encrypted").format(
                    path=self.path, member=repr(member)))
            infos[key] = info
        return infos

    # ------------------------------------------------------------------ queries
    @property
    def keys(self) -> tuple[str, ...]:
        """The members' names without ``.npy``, in archive order (nothing read)."""
        return tuple(self._infos)

    def stored_size(self, key: str) -> int:
        """The size the zip directory gives for a member's .npy file (nothing read)."""
        return int(self._info(key).file_size)

    def _info(self, key: str) -> zipfile.ZipInfo:
        try:
            return self._infos[key]
        except KeyError:
            raise ValueError(_("{path}: no member {key}").format(path=self.path,
                                                                 key=repr(key))) from None

    def _where(self, key: str) -> str:
        return _("{path}: member {member}").format(path=self.path, member=repr(key + ".npy"))

    def _open(self, key: str) -> tuple[IO[bytes], ArrayHeader]:
        """Open a member positioned at its data, with its validated header."""
        info = self._info(key)
        where = self._where(key)
        try:
            f = self._zip.open(info)
        except Exception as exc:  # noqa: BLE001 - unsupported compression, bad local header, ...
            raise ValueError(_("{where}: cannot open ({why})").format(where=where,
                                                                      why=_why(exc))) from exc
        try:
            try:
                version = npy_format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = npy_format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = npy_format.read_array_header_2_0(f)
                else:
                    raise ValueError(_(".npy format version {version} is not supported").format(
                        version=version))
            except ValueError as exc:
                raise ValueError(_("{where}: not a valid .npy header ({why})").format(
                    where=where, why=exc)) from exc
            except Exception as exc:  # noqa: BLE001 - bad CRC, inflate error, early end
                raise ValueError(_("{where}: corrupt or truncated ({why})").format(
                    where=where, why=_why(exc))) from exc
            if dtype.hasobject:
                raise ValueError(_("{where}: holds object arrays (dtype {dtype}), refused: "
                                   "loading them would need pickle").format(where=where,
                                                                           dtype=dtype))
            shape = tuple(int(n) for n in shape)
            header = ArrayHeader(key, shape, dtype, bool(fortran),
                                 math.prod(shape) * dtype.itemsize, int(f.tell()))
            if info.file_size != header.offset + header.nbytes:
                raise ValueError(
                    _("{where}: declares {what} of data but its zip entry holds {count} bytes "
                      "after the {offset}-byte header (truncated or padded)").format(
                        where=where, what=header.describe(),
                        count=info.file_size - header.offset, offset=header.offset))
        except BaseException:
            f.close()
            raise
        return f, header

    def header(self, key: str) -> ArrayHeader:
        """A member's shape and dtype, read from its .npy header (its data is not read)."""
        if key not in self._headers:
            f, h = self._open(key)
            f.close()
            self._headers[key] = h
        return self._headers[key]

    def check_budget(self, keys: list[str] | tuple[str, ...]) -> None:
        """Raise before reading if these members together exceed what is left of max_bytes."""
        headers = [self.header(k) for k in keys]
        total = sum(h.nbytes for h in headers)
        if self.loaded + total > self.max_bytes:
            big = max(headers, key=lambda h: h.nbytes)
            raise ValueError(
                _("{path}: its arrays declare {total} in all, above the limit of {limit} "
                  "(max_bytes); the largest is member {member}: {what}").format(
                    path=self.path, total=format_bytes(total),
                    limit=format_bytes(self.max_bytes - self.loaded),
                    member=repr(big.key + ".npy"), what=big.describe()))

    def read(self, key: str) -> np.ndarray:
        """Load one member's array, having checked its declared size against the budget."""
        self.check_budget([key])
        f, h = self._open(key)
        where = self._where(key)
        with f:
            out = np.empty(h.shape[::-1] if h.fortran_order else h.shape, dtype=h.dtype)
            view = memoryview(out.reshape(-1).view(np.uint8)) if h.nbytes else memoryview(b"")
            done, extra = 0, b""
            try:
                while done < h.nbytes:
                    chunk = f.read(min(_CHUNK, h.nbytes - done))
                    if not chunk:
                        break
                    view[done:done + len(chunk)] = chunk
                    done += len(chunk)
                else:
                    extra = f.read(1)  # reaching the entry's end also checks its CRC
            except Exception as exc:  # noqa: BLE001 - bad CRC, inflate error, early end
                raise ValueError(_("{where}: corrupt or truncated ({why})").format(
                    where=where, why=_why(exc))) from exc
            if done < h.nbytes:
                raise ValueError(_("{where}: truncated: {done} of {total} data bytes").format(
                    where=where, done=done, total=h.nbytes))
            if extra:
                raise ValueError(_("{where}: more data than its header declares").format(
                    where=where))
        self.loaded += h.nbytes
        return out.T if h.fortran_order else out

    # ---------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Close the archive and its file."""
        self._zip.close()
        self._file.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
