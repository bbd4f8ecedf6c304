"""The files that ship in ``dagrad/web``: KaTeX (fonts inlined in its CSS) and print.css."""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["asset", "KATEX_FILES"]

KATEX_FILES = ("katex/katex.min.css", "katex/katex.min.js", "katex/auto-render.min.js")


@functools.cache
def asset(name: str) -> str:
    """The text of a packaged web file (``print.css``, ``katex/katex.min.js`` …)."""
    text = resources.files("dagrad.web").joinpath(name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise ValueError(f"dagrad/web/{name} closes its own element; it cannot be inlined")
    return text
