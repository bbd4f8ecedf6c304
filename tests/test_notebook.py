"""The example notebook runs top to bottom (so it never rots) and displays richly."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).parents[1] / "examples" / "sheet.ipynb"


def test_example_notebook_executes(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "image/svg+xml" in kinds  # the Graph draws itself
    assert "text/html" in kinds  # the reports render as HTML
    assert (tmp_path / "vanishing.png").exists()


def test_notebook_is_built_from_its_script():
    import runpy

    build = runpy.run_path(str(NOTEBOOK.with_name("make_notebook.py")))["build"]
    assert [c.source for c in build().cells] == \
        [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells]
