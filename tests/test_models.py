"""Registry-wide checks (timm's test_models spirit): every preset of every registered family
(MergedCNN and CHRNN included, each with its `tiny_overrides`) builds, keeps the output
contract, trains a step, and round-trips through config JSON, .keras, a preset directory and
a SavedModel with the same predictions (tests/helpers.py); the Ensemble family on tiny
members; the registry itself; and the shared input, preset-file and compile errors."""

import json
import os

import numpy as np
import pytest
from helpers import is_conv_kernel, random_images, run_family_contract, run_round_trips

import hier_keras as hk
from hier_keras.models import HierarchicalModel

# The 224 px cases that stay slowest with the tiny overrides (10-15 s of CPU each on one core,
# measured with --durations; the rest take 1-9 s): marked `slow`, which the default run (and
# CI) still includes; `-m "not slow"` leaves them out.
SLOW = {("DHNN", "cbam_resnet50_s2s"), ("DHNN", "resnet50_rnn"), ("CHRNN", "c_hlstm")}
# Smaller than a family's `tiny_overrides` where even those are slow to train: C-HRNN's
# spatial RNNs on the {6,3,2,1} pyramid take ~10 s of CPU to trace one training step; {2, 1}
# keeps a recurrent scale and its cross-scale link (test_chrnn.py builds the full pyramid).
SMALLER = {"CHRNN": {"scales": [2, 1]}}


def _tiny(cls):
    return {**cls.tiny_overrides, **SMALLER.get(cls.__name__, {})}


def _tiny_architecture(cls, preset):
    """What a preset builds with the tiny overrides, less what is not architecture."""
    config = {**cls.presets[preset]["config"], **_tiny(cls)}
    for key in ("name", "training_config", "mean", "std"):
        config.pop(key, None)
    return json.dumps(config, sort_keys=True, default=str)


def _cases():
    """(family, preset, full) for every preset of every family with presets.

    `full`: the first preset (by name) of each tiny architecture trains a step and goes
    through every round trip; presets that build the same tiny model (they differ only in
    size, training recipe or normalisation: `cnn7` / `wrn28_10`, `resnet164` /
    `densenet100_bc`, ...) build, keep the output contract, compile their own training
    recipe and round-trip their config.
    """
    for name in hk.models.list_families(with_presets=True):
        cls, seen = hk.models.get_family(name), set()
        for preset in sorted(cls.presets):
            arch = _tiny_architecture(cls, preset)
            yield pytest.param(name, preset, arch not in seen, id=f"{name}-{preset}",
                               marks=[pytest.mark.slow] if (name, preset) in SLOW else [])
            seen.add(arch)


@pytest.mark.parametrize("family, preset, full", list(_cases()))
def test_preset_contract_training_and_round_trips(family, preset, full, tmp_path):
    cls = hk.models.get_family(family)
    model = cls.from_preset(preset, **_tiny(cls))
    config = cls.presets[preset]["config"]
    assert list(model.image_shape) == list(config["input_shape"])  # the overrides keep the
    assert model.backbone_name == cls.tiny_overrides["backbone"]   # preset's data, not its size
    x = random_images(model)
    if full:  # one step moves every convolution kernel (every tower of a MergedCNN too)
        want = run_family_contract(model, x, must_change=is_conv_kernel)
        run_round_trips(model, tmp_path, x, want=want)
    else:
        run_family_contract(model, x, train=False)
        model.compile(total_steps=1)  # the preset's own optimizer and schedule
        assert model.optimizer is not None
        run_round_trips(model, tmp_path, x, formats=("config",))


def test_every_family_is_registered_and_unknown_names_get_a_suggestion():
    classes = {n: getattr(hk.models, n) for n in hk.models.__all__
               if isinstance(getattr(hk.models, n), type)
               and issubclass(getattr(hk.models, n), HierarchicalModel)
               and getattr(hk.models, n) is not HierarchicalModel}
    assert hk.models.list_families() == sorted(classes)
    assert {"MergedCNN", "CHRNN", "Ensemble"} <= set(classes)
    assert set(hk.models.list_families(with_presets=True)) == set(classes) - {"Ensemble"}
    assert all(p in hk.models.get_family(f).presets for f, p in SLOW)  # no stale entries
    assert set(SMALLER) <= set(classes)
    for name, cls in classes.items():
        assert hk.models.get_family(name) is cls
        assert hk.models.get_family(name.lower()) is cls
        assert hk.models.get_family(cls) is cls
    with pytest.raises(ValueError, match=r"Unknown family 'MergedCN'\. Did you mean 'MergedCNN'\?"
                                         r".*'Ensemble'"):
        hk.models.get_family("MergedCN")
    with pytest.raises(ValueError, match=r"Unknown family 'xyz'\. Families: \["):
        hk.models.get_family("xyz")


def test_ensemble_contract_and_round_trips(tmp_path):
    """Ensemble has no presets: two tiny members of other families stand in (its preset
    directory round trip, on three members, is in test_mergedcnn.py)."""
    members = [hk.models.get_family(n).from_preset("small_fashion_mnist",
                                                   **hk.models.get_family(n).tiny_overrides)
               for n in ("HierarchicalCNN", "MinPoolNet")]
    model = hk.models.Ensemble(members, adaptation_alpha=1.0)
    x = random_images(model)
    want = run_family_contract(model, x, must_change=is_conv_kernel)
    run_round_trips(model, tmp_path, x, want=want, formats=("config", "keras", "saved_model"))


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
    model.save_to_preset(d, overwrite=True)
    (d / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json in preset directory .* corrupted"):
        hk.models.HierarchicalCNN.from_preset(str(d))
    model.save_to_preset(d, overwrite=True)
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


@pytest.mark.parametrize("name", hk.models.list_families(with_presets=True))
def test_fit_rejects_bad_labels_and_images_by_name(name):
    family = hk.models.get_family(name)
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
