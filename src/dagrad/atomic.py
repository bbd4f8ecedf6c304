"""Crash-safe file writes, and ``load_npz`` (bounded, pickle-free; see ``dagrad.npz``).

``atomic_write`` writes to a temporary file in the target's directory, flushes and fsyncs
it, renames it over the target with ``os.replace`` and fsyncs the directory, so a reader
sees either the old file or the complete new one, never a partial write.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any

import numpy as np

__all__ = ["atomic_write", "save_npz", "load_npz"]

PathLike = str | os.PathLike


def _fsync_dir(directory: str) -> None:
    """Flush a directory entry to disk (POSIX only; a no-op where unsupported)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours, or no way to tell: leave its file alone
        return True
    return True


def _sweep_stale(directory: str, base: str) -> None:
    """Remove temp files of ``base`` left by writers that were killed (their pid is gone)."""
    prefix = f".{base}."
    with suppress(OSError):
        for name in os.listdir(directory):
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid = name[len(prefix):-4].split(".")[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                with suppress(OSError):
                    os.unlink(os.path.join(directory, name))


def _create_temp(directory: str, base: str) -> tuple[int, str]:
    """Create a fresh hidden temp file next to the target (mode 0666 minus the umask).

    Its name carries the writer's pid, so the next writer can sweep away the temp files of a
    writer that was killed mid-write.
    """
    _sweep_stale(directory, base)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{base}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


@contextmanager
def atomic_write(path: PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temp file for writing that atomically replaces ``path`` on success."""
    if mode not in ("w", "wt", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w', 'wt' or 'wb', got {mode!r}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = _create_temp(directory, os.path.basename(path))
    try:
        if "b" in mode:
            f = os.fdopen(fd, mode)
        else:
            f = os.fdopen(fd, mode, encoding=encoding or "utf-8", newline="")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def save_npz(path: PathLike, /, *, compress: bool = False, **arrays: Any) -> None:
    """Write arrays to an ``.npz`` file atomically (``compress=True`` for zip-deflate)."""
    checked = {}
    for name, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise ValueError(f"{os.fspath(path)}: array {name!r} has dtype object; not saved")
        checked[name] = array
    writer = np.savez_compressed if compress else np.savez
    with atomic_write(path, "wb") as f:
        writer(f, **checked)


def load_npz(path: PathLike, max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file (no pickles, ``max_bytes`` in all); else ValueError.

    Missing files, directories, bad or truncated zips, CRC errors, damaged headers, members
    that are not ``.npy`` arrays, object (pickled) arrays and arrays whose declared sizes
    exceed ``max_bytes`` (default ``dagrad.npz.MAX_BYTES``, 1 GiB; checked before anything
    is allocated) all raise ``ValueError("<path>: <problem>")``.
    """
    from .npz import MAX_BYTES, NpzReader  # imported here to keep `import dagrad` light

    with NpzReader(path, MAX_BYTES if max_bytes is None else max_bytes) as archive:
        archive.check_budget(archive.keys)
        return {key: archive.read(key) for key in archive.keys}
