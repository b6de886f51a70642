"""Every notebook runs top to bottom in fast mode (HIER_KERAS_FAST=1: bundled subset, tiny
models, a few steps), is what `notebooks/make_notebooks.py` writes, and has no outputs."""

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAPERS = ["guo2018_cnnrnn", "dutt2017_mergedcnn", "minpoolnet", "zuo2016_chrnn", "koo2018_dhnn"]


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernelspec running this interpreter (the default `python3` spec runs whatever
    `python` is first on PATH, which need not have hier_keras)."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / "hk-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "hier_keras tests", "language": "python"}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter))
        yield "hk-test"


def test_every_notebook_is_there_and_current():
    names = {p.stem for p in NOTEBOOKS}
    assert {"quickstart", "tuning", *PAPERS} <= names
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        import make_notebooks
    finally:
        sys.path.pop(0)
    assert make_notebooks.main(["--check"]) == 0
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path, kernel_name, monkeypatch):
    monkeypatch.setenv("HIER_KERAS_FAST", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name=kernel_name, timeout=300,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)
    if path.stem in PAPERS:  # the paper notebooks found and showed their results
        assert "is missing" not in text.split("Other tables")[0], text[-2000:]
        assert any(o.output_type == "display_data" and "image/png" in o.get("data", {})
                   for c in nb.cells for o in c.get("outputs", [])), "no plot"
    if path.stem == "quickstart":
        assert "reloaded predictions identical: True" in text
        assert "SavedModel = Keras: True" in text
