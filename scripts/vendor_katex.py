"""Vendor KaTeX into src/dagrad/web/katex/ from an unpacked npm package (``npm pack katex``).

Usage: ``python scripts/vendor_katex.py /path/to/package`` (the folder holding ``dist/`` and
``LICENSE``).  Copies katex.min.js and contrib/auto-render.min.js as they are, and writes
katex.min.css with every @font-face reduced to its woff2 file inlined as base64, so a page that
inlines the three files needs nothing else (offline, self-contained).  VERSION records the
package's version.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "src" / "dagrad" / "web" / "katex"
_SRC = re.compile(r"src:url\((fonts/[^)]+\.woff2)\) format\(\"woff2\"\)(,url\([^)]*\) "
                  r"format\(\"[a-z]+\"\))*")


def _inline_fonts(css: str, dist: Path) -> str:
    def woff2(m: re.Match) -> str:
        data = base64.b64encode((dist / m.group(1)).read_bytes()).decode("ascii")
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    out, count = _SRC.subn(woff2, css)
    if count == 0 or "url(fonts/" in out:
        raise SystemExit("vendor_katex: the @font-face rules did not have the expected form")
    return out


def main(package: str) -> None:
    root = Path(package)
    dist = root / "dist"
    version = json.loads((root / "package.json").read_text(encoding="utf-8"))["version"]
    TARGET.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dist / "katex.min.js", TARGET / "katex.min.js")
    shutil.copyfile(dist / "contrib" / "auto-render.min.js", TARGET / "auto-render.min.js")
    shutil.copyfile(root / "LICENSE", TARGET / "LICENSE")
    css = _inline_fonts((dist / "katex.min.css").read_text(encoding="utf-8"), dist)
    (TARGET / "katex.min.css").write_text(css, encoding="utf-8")
    (TARGET / "VERSION").write_text(version + "\n", encoding="utf-8")
    print(f"KaTeX {version} vendored into {TARGET}")


if __name__ == "__main__":
    main(sys.argv[1])
