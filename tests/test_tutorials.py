"""Execute every tutorial notebook (slow: each starts a kernel and trains small models)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))


def _builder():
    spec = importlib.util.spec_from_file_location("build_tutorials", TUTORIALS / "build_tutorials.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_match_their_generator():
    """The committed notebooks are what build_tutorials.py writes (no hand edits, no stale files)."""
    builder = _builder()
    assert sorted(p.name for p in NOTEBOOKS) == sorted(builder.NOTEBOOKS)
    for name, cells in builder.NOTEBOOKS.items():
        expected = builder.build(name, cells)
        actual = nbformat.read(TUTORIALS / name, as_version=4)
        assert [c.source for c in actual.cells] == [c.source for c in expected.cells], name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    # The kernel is a child process: it finds kansr through PYTHONPATH even when not installed.
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # let the kernel pick its inline backend
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # the client's timeout bounds each cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
