"""How much a file reader may load, and byte counts in words (512 bytes, 1.5 MiB, 3.0 GiB)."""

from __future__ import annotations

__all__ = ["MAX_LOAD_BYTES", "format_bytes"]

#: Default budget for the data one call of a reader (``.npz``, checkpoint, IDX) may load: 1 GiB.
MAX_LOAD_BYTES = 2**30


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units: 512 bytes, 1.5 MiB, 3.0 GiB."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
