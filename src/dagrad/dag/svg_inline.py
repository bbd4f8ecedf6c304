"""Graphviz SVG made safe to inline in a page: drawing elements only, no links, no scripts.

The SVG is parsed and written back from an allow-list: shapes, text and groups keep their
attributes; ``<a>`` wrappers (Graphviz's way of giving a label cell an id) are unwrapped;
titles, comments, scripts, event handlers and hrefs are dropped; all text is re-escaped.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

__all__ = ["inline_svg"]

_KEEP = {"svg", "g", "text", "tspan", "path", "polygon", "polyline", "ellipse", "circle",
         "rect", "line"}
_UNWRAP = {"a"}


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _attrs(el: ET.Element) -> str:
    out = []
    for key, value in el.attrib.items():
        if key.startswith("{"):  # xlink:href, xlink:title, ... : links go
            continue
        name = _local(key)
        if name.lower().startswith("on") or name.lower() in ("href", "style"):
            continue
        out.append(f' {name}="{html.escape(value, quote=True)}"')
    return "".join(out)


def _write(el: ET.Element, parts: list[str]) -> None:
    tag = _local(el.tag) if isinstance(el.tag, str) else ""
    if tag in _UNWRAP:
        parts.append(html.escape(el.text or "", quote=False))
        for child in el:
            _write(child, parts)
            parts.append(html.escape(child.tail or "", quote=False))
        return
    if tag not in _KEEP:
        return
    extra = ' xmlns="http://www.w3.org/2000/svg"' if tag == "svg" else ""
    parts.append(f"<{tag}{extra}{_attrs(el)}>")
    parts.append(html.escape(el.text or "", quote=False))
    for child in el:
        _write(child, parts)
        parts.append(html.escape(child.tail or "", quote=False))
    parts.append(f"</{tag}>")


def inline_svg(svg: bytes | str) -> str:
    """The SVG document as a clean ``<svg>…</svg>`` fragment for an HTML page."""
    root = ET.fromstring(svg.encode("utf-8") if isinstance(svg, str) else svg)
    if _local(root.tag) != "svg":
        raise ValueError("inline_svg: not an SVG document")
    parts: list[str] = []
    _write(root, parts)
    return "".join(parts)
