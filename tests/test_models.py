"""Registry-wide checks (timm's test_models spirit): every preset of every family builds,
keeps the output contract, trains a step, and round-trips through config, .keras and a
preset directory with the same predictions."""

import json
import os

import keras
import numpy as np
import pytest

import hier_keras as hk
from hier_keras.models import HierarchicalModel

# MergedCNN and CHRNN keep this contract in their own files (test_mergedcnn.py,
# test_chrnn.py), on the presets that differ in more than size: their ResNet-164 /
# DenseNet-100-BC and 224 px presets take minutes each to build here.
OWN_REGISTRY_TESTS = {"MergedCNN", "CHRNN"}
FAMILIES = [getattr(hk.models, n) for n in hk.models.__all__
            if isinstance(getattr(hk.models, n), type) and issubclass(getattr(hk.models, n), HierarchicalModel)
            and getattr(hk.models, n) is not HierarchicalModel and getattr(hk.models, n).presets
            and n not in OWN_REGISTRY_TESTS]
CASES = [(f, p) for f in FAMILIES for p in sorted(f.presets)]


def _tiny(family, preset):
    return family.from_preset(preset, **family.tiny_overrides)


def _images(model, n=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n,) + model.image_shape).astype("float32")


def _labels(model, n=3, seed=0):
    leaves = model.hierarchy.leaf_paths()
    return leaves[np.random.default_rng(seed).integers(0, len(leaves), n)]


def _assert_same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-5)


@pytest.mark.parametrize("family, preset", CASES, ids=[f"{f.__name__}-{p}" for f, p in CASES])
def test_preset_contract_training_and_round_trips(family, preset, tmp_path):
    model = _tiny(family, preset)
    x, y = _images(model), _labels(model)
    out = model.predict(x, verbose=0)
    assert list(out) == [n for n in model.level_names if n in model.output_levels]
    for level in model.output_levels:
        i = model.level_names.index(level)
        assert out[level].shape == (len(x), model.hierarchy.level_sizes[i])
        sums = out[level].sum(-1)
        assert np.all((np.abs(sums - 1) < 1e-4) | (np.abs(sums) < 1e-6))
    model.compile(total_steps=1)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    assert f"{model.output_levels[-1]}_accuracy" in history.history
    want = model.predict(x, verbose=0)

    clone = family.from_config(json.loads(json.dumps(model.get_config())))
    assert clone.get_config() == model.get_config()

    path = str(tmp_path / "m.keras")
    model.save(path)
    _assert_same(keras.saving.load_model(path).predict(x, verbose=0), want)

    preset_dir = tmp_path / "preset"
    model.save_to_preset(preset_dir, metrics={"fine_accuracy": 0.5}, dataset="random")
    loaded = family.from_preset(str(preset_dir))
    _assert_same(loaded.predict(x, verbose=0), want)
    assert json.loads((preset_dir / "metadata.json").read_text())["metrics"]["fine_accuracy"] == 0.5


def test_unknown_preset_lists_available():
    with pytest.raises(ValueError, match=r"Unknown preset identifier 'nope' .*small_fashion_mnist"):
        hk.models.HierarchicalCNN.from_preset("nope")


def test_wrong_image_shape_and_dtype():
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    with pytest.raises(ValueError, match=r"shape \(batch, 28, 28, 1\).*received \(2, 32, 32, 3\)"):
        model.predict(np.zeros((2, 32, 32, 3)))
    with pytest.raises(ValueError, match="numeric"):
        model.predict(np.array([["a"]]))
    assert model.predict(np.zeros((2, 28, 28), "uint8"), verbose=0)["fine"].shape == (2, 10)


def test_corrupted_and_missing_preset_files(tmp_path):
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    d = tmp_path / "p"
    model.save_to_preset(d)
    weights = d / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"model.weights.h5 in preset directory .* is corrupted"):
        hk.models.HierarchicalCNN.from_preset(str(d))
    model.save_to_preset(d)
    (d / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json in preset directory .* corrupted"):
        hk.models.HierarchicalCNN.from_preset(str(d))
    model.save_to_preset(d)
    os.remove(d / "model.weights.h5")
    with pytest.raises(ValueError, match="is missing model.weights.h5"):
        hk.models.HierarchicalCNN.from_preset(str(d))
    os.remove(d / "metadata.json")
    with pytest.raises(ValueError, match="has no metadata.json"):
        hk.models.HierarchicalCNN.from_preset(str(d))


def test_new_hierarchy_keeps_backbone_weights(tmp_path):
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    model.save_to_preset(tmp_path / "p")
    tree = hk.Hierarchy.from_nested({"A": ["a", "b"], "B": ["c"]})
    other = hk.models.HierarchicalCNN.from_preset(str(tmp_path / "p"), hierarchy=tree)
    assert other.hierarchy.level_sizes == [2, 3]
    for a, b in zip(model.backbone.weights, other.backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_compile_refuses_loss_and_metrics():
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    with pytest.raises(ValueError, match="own their `loss`"):
        model.compile(loss="mse")


def test_predict_paths_names(fashion_tree):
    model = hk.models.CNNRNN.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    paths = model.predict_paths(np.zeros((2, 28, 28, 1)))
    names = [n for n, _ in paths[0]]
    assert len(names) == 3 and fashion_tree.path_from_names(names) is not None
    assert all(0 <= p <= 1 for _, p in paths[0])


@pytest.mark.parametrize("family", [hk.models.HierarchicalCNN, hk.models.CNNRNN])
def test_savedmodel_export_same_predictions(family, tmp_path):
    import tensorflow as tf

    model = family.from_preset("small_fashion_mnist", **HierarchicalModel.tiny_overrides)
    x = _images(model, 4)
    want = model.predict(x, verbose=0)
    model.export(str(tmp_path / "sm"))
    loaded = tf.saved_model.load(str(tmp_path / "sm"))  # keep a reference: it owns the variables
    served = loaded.serve(tf.constant(x))
    _assert_same({k: np.asarray(v) for k, v in served.items()}, want)


@pytest.mark.parametrize("family", [hk.models.HierarchicalCNN, hk.models.CNNRNN, hk.models.DHNN,
                                    hk.models.MinPoolNet, hk.models.MergedCNN, hk.models.CHRNN],
                         ids=lambda f: f.__name__)
def test_fit_rejects_bad_labels_and_images_by_name(family):
    preset = next(p for p in sorted(family.presets) if "fashion_mnist" in p)
    model = family.from_preset(preset, **family.tiny_overrides)
    model.compile(total_steps=1)
    x = np.zeros((2, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match=r"Inconsistent labels in row 0 .*'Shoes'"):
        model.fit(x, np.array([[0, 5, 9], [1, 5, 9]]), verbose=0)
    with pytest.raises(ValueError, match=r"out of range|must lie in"):
        model.fit(x, np.array([[1, 5, 12], [1, 5, 9]]), verbose=0)
    with pytest.raises(ValueError, match=r"hierarchy.complete"):
        model.fit(x, np.array([9, 9]), verbose=0)
    with pytest.raises(ValueError, match=r"Images must have shape \(batch, 28, 28, 1\)"):
        model.fit(np.zeros((2, 32, 32, 3)), np.array([[1, 5, 9]] * 2), verbose=0)
    with pytest.raises(ValueError, match=r"Inconsistent labels"):
        model.fit(x, np.array([[1, 5, 9]] * 2), validation_data=(x, np.array([[0, 5, 9]] * 2)),
                  verbose=0)
