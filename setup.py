"""The one build step beyond pyproject.toml: compile the gettext catalogs (.po → .mo).

``build_py`` writes ``dagrad/locale/<lang>/LC_MESSAGES/dagrad.mo`` beside each ``dagrad.po``
of the build (for an editable install: of the source tree), with dagrad's own compiler
(``dagrad.i18n.compile_po``, loaded from its file so the build needs nothing installed).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _i18n():
    spec = importlib.util.spec_from_file_location("_dagrad_i18n_build",
                                                  ROOT / "src" / "dagrad" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithCatalogs(build_py):
    """build_py, then the compiled catalogs."""

    def run(self) -> None:
        super().run()
        i18n = _i18n()
        editable = getattr(self, "editable_mode", False)
        base = ROOT / "src" if editable else Path(self.build_lib)
        for po in sorted((ROOT / "src" / "dagrad" / "locale").glob("*/LC_MESSAGES/*.po")):
            target = base / po.relative_to(ROOT / "src").with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(i18n.compile_po(po))


setup(cmdclass={"build_py": BuildWithCatalogs})
