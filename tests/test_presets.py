"""Preset directories: atomic saves, overwrite, saved_model/ ownership, head transfer."""

import json
import logging
import os

import numpy as np
import pytest

import hier_keras as hk
from hier_keras.models.base import HierarchicalModel
from hier_keras.presets import files as preset_files
from hier_keras.presets.files import PresetError, write_preset_dir
from hier_keras.presets.loading import load_preset, transfer_weights

IMAGES = np.random.default_rng(0).uniform(0, 255, (4, 28, 28, 1)).astype("float32")


def _model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
                                                 **HierarchicalModel.tiny_overrides)


def _predict(model):
    return model.predict(IMAGES, verbose=0)


def _siblings(path):
    return sorted(os.listdir(path.parent))


def _fake_saved_model(folder):
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.index").write_bytes(b"index")
    return folder


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path):
    d = tmp_path / "p"
    first, second = _model(0), _model(1)
    write_preset_dir(first, d, {"note": "first"})
    assert _siblings(d) == ["p"]  # no staging folder left behind
    assert sorted(os.listdir(d)) == ["config.json", "metadata.json", "model.weights.h5"]
    umask = os.umask(0)
    os.umask(umask)
    assert d.stat().st_mode & 0o777 == 0o777 & ~umask  # as mkdir makes it, not mkdtemp's 0700
    with pytest.raises(PresetError, match="already holds files; pass overwrite=True"):
        write_preset_dir(second, d)
    ref = _predict(load_preset(d))
    np.testing.assert_allclose(ref["fine"], _predict(first)["fine"], atol=1e-6)
    write_preset_dir(second, d, {"note": "second"}, overwrite=True)
    assert _siblings(d) == ["p"]
    np.testing.assert_allclose(_predict(load_preset(d))["fine"], _predict(second)["fine"],
                               atol=1e-6)
    assert json.loads((d / "metadata.json").read_text())["note"] == "second"
    # An empty folder (made by the caller) is fine without overwrite; a file is not.
    (tmp_path / "empty").mkdir()
    write_preset_dir(first, tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(PresetError, match="is a file"):
        write_preset_dir(first, tmp_path / "file", overwrite=True)


def test_saved_model_only_survives_when_it_belongs_to_this_save(tmp_path):
    d = tmp_path / "p"
    model = _model()
    export = _fake_saved_model(tmp_path / "export")
    write_preset_dir(model, d, saved_model=export)
    files = preset_files.verify_preset_dir(d)["files"]
    assert {"saved_model/saved_model.pb", "saved_model/variables/variables.index"} <= set(files)
    # A re-save without saved_model= drops the old one: it belonged to other weights.
    write_preset_dir(_model(1), d, overwrite=True)
    assert not (d / "saved_model").exists()
    assert not any(k.startswith("saved_model") for k in preset_files.verify_preset_dir(d)["files"])
    # migrate_zoo's case: re-save in place, keeping the directory's own SavedModel.
    write_preset_dir(model, d, saved_model=export, overwrite=True)
    write_preset_dir(model, d, saved_model=d / "saved_model", overwrite=True)
    assert (d / "saved_model" / "saved_model.pb").read_bytes() == b"graph"
    preset_files.verify_preset_dir(d)
    with pytest.raises(PresetError, match="not a SavedModel folder"):
        write_preset_dir(model, tmp_path / "q", saved_model=tmp_path / "nothing")
    assert not (tmp_path / "q").exists()


def test_failed_save_leaves_the_previous_preset(tmp_path, monkeypatch):
    d = tmp_path / "p"
    old = _model(0)
    write_preset_dir(old, d, saved_model=_fake_saved_model(tmp_path / "export"))
    before = {n: (d / n).read_bytes() for n in ("config.json", "metadata.json", "model.weights.h5")}
    ref = _predict(old)
    new = _model(1)
    with pytest.raises(PresetError, match=r"\['bad'\] cannot be stored as JSON.*is unchanged"):
        write_preset_dir(new, d, {"bad": object()}, overwrite=True)
    # Weights fail half-way (after config.json was written).
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(new), "save_weights", boom)
    with pytest.raises(OSError, match="disk full"):
        write_preset_dir(new, d, overwrite=True)
    assert _siblings(d) == ["export", "p"]
    assert {n: (d / n).read_bytes() for n in before} == before
    assert (d / "saved_model" / "saved_model.pb").exists()
    loaded = load_preset(d)
    for level in ref:
        np.testing.assert_allclose(_predict(loaded)[level], ref[level], atol=1e-6)
    # NumPy values are still fine.
    monkeypatch.undo()
    write_preset_dir(new, d, {"n": np.int64(3), "a": np.arange(2)}, overwrite=True)
    assert json.loads((d / "metadata.json").read_text())["a"] == [0, 1]


def test_zoo_entries_skip_staging_folders(tmp_path, monkeypatch):
    write_preset_dir(_model(), tmp_path / ".p.tmp-abc")
    write_preset_dir(_model(), tmp_path / "p")
    monkeypatch.setenv("HIER_KERAS_ZOO", str(tmp_path))
    entries = preset_files.zoo_entries()
    assert "p" in entries and ".p.tmp-abc" not in entries


def _regrouped(tree):
    """Same level sizes and names, other parents at the finest level."""
    parents = [p.tolist() for p in tree.parents]
    parents[-1] = parents[-1][1:] + parents[-1][:1]
    return hk.Hierarchy(tree.class_names, [None] + parents[1:], tree.level_names)


def test_new_hierarchy_resets_heads_whose_classes_changed(tmp_path, caplog):
    model = _model()
    d = tmp_path / "p"
    write_preset_dir(model, d)
    tree = model.hierarchy
    regrouped = _regrouped(tree)
    assert regrouped.level_sizes == tree.level_sizes and regrouped != tree
    with caplog.at_level(logging.INFO, logger="hier_keras.presets.loading"):
        other = load_preset(d, hierarchy=regrouped)
    by_path = {v.path: v.numpy() for v in model.weights}
    for var in other.weights:
        same = np.array_equal(var.numpy(), by_path[var.path])
        # The fine head predicts regrouped classes: fresh. Coarse and medium are unchanged.
        assert same == ("fine_logits/kernel" not in var.path), var.path
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and "start fresh" in warning[0].getMessage()
    assert "fine_logits/kernel" in warning[0].getMessage()
    assert "coarse_logits" not in warning[0].getMessage()
    assert any("Weights kept" in r.getMessage() and "coarse_logits/kernel" in r.getMessage()
               for r in caplog.records if r.levelno == logging.INFO)
    # Renamed classes at level 1: medium and fine heads (below it) start fresh.
    names = [list(n) for n in tree.class_names]
    names[1] = [n + "_x" for n in names[1]]
    renamed = hk.Hierarchy(names, [None] + [p.tolist() for p in tree.parents[1:]],
                           tree.level_names)
    kept, fresh = transfer_weights(model, load_preset(d, hierarchy=renamed, load_weights=False))
    assert any("coarse_logits" in p for p in kept)
    assert all(any(h in p for h in ("medium_logits", "fine_logits")) for p in fresh)
    assert len(fresh) == 4
    # The same tree: everything kept, no warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hier_keras.presets.loading"):
        load_preset(d, hierarchy=tree)
    assert not caplog.records


def test_tree_wide_variables_need_the_same_tree(tmp_path):
    # CNN-RNN's label embedding and vocabulary logits span the whole node vocabulary.
    model = hk.models.CNNRNN.from_preset("small_fashion_mnist", **hk.models.CNNRNN.tiny_overrides)
    target = hk.models.CNNRNN.from_config({**model.get_config(),
                                           "hierarchy": _regrouped(model.hierarchy)})
    kept, fresh = transfer_weights(model, target)
    assert any("label_embedding" in p for p in fresh)
    assert any("vocabulary_logits" in p for p in fresh)
    backbone = {v.path for v in model.backbone.weights}
    assert backbone <= set(kept)
    same = hk.models.CNNRNN.from_config(model.get_config())
    kept, fresh = transfer_weights(model, same)
    assert not fresh
