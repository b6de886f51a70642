"""Every zoo entry loads by name (no network, sha256 checked) and through its SavedModel with
the same predictions, and still scores what its metadata says on the bundled test split."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import hier_keras as hk
from hier_keras import presets as preset_io

ZOO = Path(__file__).resolve().parents[1] / "zoo"
INDEX = ZOO / "index.json"
ENTRIES = json.loads(INDEX.read_text()) if INDEX.exists() else []
# Largest |Keras - SavedModel| probability difference accepted (both run float32 on the CPU).
SERVING_ATOL = 1e-5


def _family(name):
    assert name in hk.models.list_families(), f"index names an unknown family {name!r}"
    return hk.models.get_family(name)


def test_index_lists_every_entry_and_each_has_a_saved_model():
    names = [e["name"] for e in ENTRIES]
    assert "cnnrnn_small_fashion_mnist" in names and "mergedcnn_small_fashion_mnist" in names
    on_disk = sorted(d.name for d in ZOO.iterdir() if (d / "metadata.json").exists())
    assert sorted(names) == on_disk  # index.json regenerated with every export
    assert set(names) <= set(preset_io.zoo_entries())
    for entry in ENTRIES:
        meta = json.loads((ZOO / entry["name"] / "metadata.json").read_text())
        hashed = [f for f in meta["files"] if f.startswith("saved_model/")]
        assert "saved_model/saved_model.pb" in hashed, entry["name"]
        assert any(f.startswith("saved_model/variables/") for f in hashed), entry["name"]
        assert entry["saved_model"] is True
        if meta["family"] == "MinPoolNet":  # trained on partial labels: which ones
            fractions = meta["training"]["label_fractions"]
            assert fractions["n_fine"] + fractions["n_coarse"] <= fractions["pool"], entry["name"]
            assert 0 < fractions["fine"] <= 1 and 0 <= fractions["coarse"] <= 1


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_zoo_entry_loads_both_ways_and_reproduces_its_metrics(entry, bundled):
    import tensorflow as tf

    family = _family(entry["family"])
    model = family.from_preset(entry["name"])  # verifies every sha256, saved_model/ included
    assert entry["name"] in family.preset_names()
    directory = preset_io.zoo_entries()[entry["name"]]
    meta = json.loads((directory / "metadata.json").read_text())

    x, y = bundled["x_test"], bundled["y_test"]
    keras_probs = model.predict(model.check_images(x), batch_size=500, verbose=0)
    loaded = tf.saved_model.load(str(directory / "saved_model"))
    served = {k: [] for k in keras_probs}
    for start in range(0, len(x), 500):
        out = loaded.serve(tf.constant(model.check_images(x[start:start + 500])))
        for k in served:
            served[k].append(np.asarray(out[k]))
    assert sorted(keras_probs) == sorted(meta["serving"]["outputs"])
    for k in keras_probs:
        np.testing.assert_allclose(np.concatenate(served[k]), keras_probs[k], atol=SERVING_ATOL)

    res = hk.metrics.evaluate_model(model, (x, y)).iloc[0]
    tol = meta.get("tolerance", 0.005)
    checked = 0
    for key, want in meta["metrics_bundled"].items():
        if key.endswith("accuracy") or key in ("exact_match", "consistency"):
            assert abs(res[key] - want) <= tol, (key, res[key], want)
            checked += 1
    assert checked >= 4


def test_corrupted_saved_model_file_is_reported_by_name(tmp_path):
    entry = ENTRIES[0]["name"]
    copy = tmp_path / entry
    shutil.copytree(preset_io.zoo_entries()[entry], copy)
    index = copy / "saved_model" / "variables" / "variables.index"
    index.write_bytes(index.read_bytes()[:-1] + b"\0")
    with pytest.raises(preset_io.PresetError, match="saved_model/variables/variables.index"):
        _family(ENTRIES[0]["family"]).from_preset(str(copy))


def test_setup_ships_every_zoo_file():
    """Each file under zoo/ matches a `hier_keras.zoo` package_data pattern of setup.py (a
    wheel built from this checkout was checked by hand to contain them all)."""
    import ast
    import fnmatch

    tree = ast.parse((ZOO.parent / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "setup")
    package_data = ast.literal_eval(next(k.value for k in call.keywords
                                         if k.arg == "package_data"))
    patterns = package_data["hier_keras.zoo"]
    files = [p.relative_to(ZOO).as_posix() for p in ZOO.rglob("*") if p.is_file()]
    assert any(f.endswith("saved_model/saved_model.pb") for f in files)
    unshipped = [f for f in files if not any(fnmatch.fnmatchcase(f, pat) and
                                             f.count("/") == pat.count("/") for pat in patterns)]
    assert not unshipped
