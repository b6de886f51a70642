"""The notebooks: each `notebooks/<name>.ipynb` is paired with the jupytext percent-format
source `notebooks/<name>.py` it is generated from (same cells, no outputs), the sources pass
`ruff check`, and every notebook runs top to bottom in fast mode (HIER_KERAS_FAST=1: bundled
subset, tiny models, a few steps); the paper notebooks read the JSON sidecars of
`benchmarks/results/`."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))
PAPERS = ["guo2018_cnnrnn", "dutt2017_mergedcnn", "minpoolnet", "zuo2016_chrnn", "koo2018_dhnn"]
REGENERATE = "run `jupytext --sync notebooks/*.py` (see notebooks/README.md)"


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


def _cells(nb):
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def test_every_notebook_is_there_and_paired():
    names = {p.stem for p in NOTEBOOKS}
    assert {"quickstart", "tuning", *PAPERS} <= names
    assert names == {p.stem for p in SOURCES}, "every .ipynb needs its .py source and back"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_matches_its_source(path):
    import jupytext

    source = jupytext.read(path, fmt="py:percent")
    assert source.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", path.name
    ipynb = path.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: {REGENERATE}"
    notebook = nbformat.read(ipynb, as_version=4)
    assert _cells(notebook) == _cells(source), f"{ipynb.name} is out of date: {REGENERATE}"


def test_notebook_sources_pass_ruff():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                           *[str(p.relative_to(ROOT)) for p in SOURCES]],
                          check=False, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


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
    if path.stem in PAPERS:  # the paper notebooks found their sidecars and showed them
        assert "is missing" not in text, text[-2000:]
        assert "$ python benchmarks/" in text, "no command shown from a sidecar"
        assert any(o.output_type == "display_data" and "image/png" in o.get("data", {})
                   for c in nb.cells for o in c.get("outputs", [])), "no plot"
    if path.stem == "quickstart":
        assert "reloaded predictions identical: True" in text
        assert "SavedModel = Keras: True" in text
