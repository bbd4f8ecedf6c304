"""A Graphviz DOT source drawn as a picture: an inline SVG string, or a .svg/.png/.pdf file."""

from __future__ import annotations

import os
from pathlib import Path

from ..i18n import _

__all__ = ["render", "svg"]

_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}


def svg(dot: str) -> str:
    """The DAG as an SVG string for inline HTML, without the XML prologue, scaling to the page:
    ``width:100%`` up to its own size, ``height:auto``."""
    import graphviz

    from ..web.page import responsive_svg

    data = graphviz.Source(dot).pipe(format="svg").decode("utf-8")
    return responsive_svg(data[data.find("<svg"):])


def render(dot: str, path: str | os.PathLike) -> str:
    """Write the DAG to ``path`` as .svg, .png or .pdf (by suffix); returns the path."""
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(_("render_dag: unknown picture type {suffix} for {path}; use .svg, "
                           ".png or .pdf").format(suffix=repr(p.suffix), path=repr(str(p))))
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(_("render_dag needs the graphviz package: pip install "
                            "'dagrad[draw]'")) from e
    try:
        data = graphviz.Source(dot).pipe(format=fmt)
    except graphviz.ExecutableNotFound as e:
        raise RuntimeError(_("render_dag needs Graphviz's 'dot' program (e.g. apt-get "
                             "install graphviz)")) from e
    from ..atomic import atomic_write

    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(p, "wb") as fh:
        fh.write(data)
    return str(p)
