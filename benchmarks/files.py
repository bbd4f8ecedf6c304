"""Writing the suite's outputs: whole files replaced atomically (never left half-written)."""

from __future__ import annotations

import os


def write_text(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (its directory is created if missing)."""
    from dagrad.atomic import atomic_write

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)
