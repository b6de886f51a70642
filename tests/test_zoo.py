"""Every zoo entry loads by name (no network, sha256 checked) and still scores what its
metadata says on the bundled test split."""

import json
from pathlib import Path

import pytest

import hier_keras as hk
from hier_keras import presets as preset_io

INDEX = Path(__file__).resolve().parents[1] / "zoo" / "index.json"
ENTRIES = json.loads(INDEX.read_text()) if INDEX.exists() else []


def test_zoo_has_the_cnnrnn_entry():
    assert "cnnrnn_small_fashion_mnist" in [e["name"] for e in ENTRIES]
    assert set(e["name"] for e in ENTRIES) <= set(preset_io.zoo_entries())


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_zoo_entry_loads_by_name_and_reproduces_its_metrics(entry, bundled):
    family = getattr(hk.models, entry["family"])
    model = family.from_preset(entry["name"])
    assert entry["name"] in family.preset_names()
    meta = json.loads((preset_io.zoo_entries()[entry["name"]] / "metadata.json").read_text())
    res = hk.metrics.evaluate_model(model, (bundled["x_test"], bundled["y_test"])).iloc[0]
    tol = meta.get("tolerance", 0.005)
    for key, want in meta["metrics_bundled"].items():
        if key.endswith("accuracy") or key in ("exact_match", "consistency"):
            assert abs(res[key] - want) <= tol, (key, res[key], want)
