"""MergedCNN (Dutt et al. 2017): merge-k shares exactly k stages, ResNet-164 / DenseNet-100-BC
parameter counts, independent separate towers, from_towers, adaptation, Ensemble, and a short
real training on the bundled Fashion-MNIST subset. The presets' output contract, training
step and round trips are the registry-wide test's (test_models.py)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import fit_on_bundled, random_images, run_round_trips

import hier_keras as hk
from hier_keras.layers.classifier_adaptation import adapt_probabilities
from hier_keras.models.ensemble import Ensemble
from hier_keras.models.mergedcnn import MergedCNN
from hier_keras.training.adaptation import tune_alpha

TINY = MergedCNN.tiny_overrides  # the small backbone, widths (4, 8, 8)
TOPOLOGIES = ["separate", "merge-0", "merge-1", "merge-2", "merge-3"]


def _trainable(weights):
    return sum(int(np.prod(w.shape)) for w in weights if w.trainable)


def _images(n=3, seed=0):
    return random_images((28, 28, 1), n, seed)


# ------------------------------------------------------------------ parameter counts
def resnet164_params(classes):
    """Pre-act ResNet-164 (He et al. 2016b), trainable parameters, counted by hand:
    stem 3x3x3x16; 3 stages x 18 bottleneck blocks (64/128/256 out, 16/32/64 inside), each
    BN(c_in) + [1x1 c_in->b, BN, 3x3 b->b, BN, 1x1 b->c_out] (+ 1x1 projection c_in->c_out in
    the first block of a stage); final BN(256); a 256->classes dense layer per head.
    With one 10-class head this is 1,703,258 (the paper's "1.7M")."""
    total, c_in = 3 * 3 * 3 * 16, 16
    for c_out in (64, 128, 256):
        b = c_out // 4
        for block in range(18):
            total += 2 * c_in + c_in * b + 2 * b + 9 * b * b + 2 * b + b * c_out
            total += c_in * c_out if block == 0 else 0
            c_in = c_out
    return total + 2 * 256 + sum(256 * k + k for k in classes)


def densenet100_bc_params(classes):
    """DenseNet-100-BC, k = 12 (Huang et al. 2017), trainable parameters by hand: stem
    3x3x3x24; 3 blocks x 16 layers [BN(c), 1x1 c->48, BN(48), 3x3 48->12] with c growing by
    12; transitions BN(c) + 1x1 c->c/2 (216->108, 300->150); final BN(342); dense heads.
    With one 10-class head this is 769,162 (the paper's "0.8M")."""
    total, c = 3 * 3 * 3 * 24, 24
    for block in range(3):
        for _ in range(16):
            total += 2 * c + c * 48 + 2 * 48 + 9 * 48 * 12
            c += 12
        if block < 2:
            total += 2 * c + c * (c // 2)
            c //= 2
    assert c == 342
    return total + 2 * c + sum(342 * k + k for k in classes)


def test_resnet164_and_densenet100_bc_parameter_counts():
    assert resnet164_params([10]) == 1_703_258  # ~1.7M, He et al. 2016b Table 2
    assert densenet100_bc_params([10]) == 769_162  # ~0.8M, Huang et al. 2017 Table 2
    # Backbone + one CIFAR-100 head (the flat fine classifier of "separate").
    fine = MergedCNN.from_preset("resnet164", topology="merge-3", levels=["fine"])
    assert _trainable(fine.weights) == resnet164_params([100]) == 1_726_388
    # merge-3: one tower, a 20-way and a 100-way head.
    joint = MergedCNN.from_preset("resnet164", topology="merge-3")
    assert _trainable(joint.weights) == resnet164_params([20, 100])
    dense = MergedCNN.from_preset("densenet100_bc", topology="merge-3")
    assert _trainable(dense.weights) == densenet100_bc_params([20, 100]) == 806_892
    assert joint.hierarchy.level_sizes == [20, 100] and joint.image_shape == (32, 32, 3)


# ------------------------------------------------------------------ merge-k structure
def _stage_params(tree):
    """Trainable parameters of stage s (1..3) and of the pooling head of the tiny backbone."""
    net = hk.backbones.build_backbone("small", (28, 28, 1), prefix="ref", widths=[4, 8, 8])
    per = {}
    for layer in net.layers:
        key = layer.name.split("_")[1]  # "s1", "s2", "s3", "pool", "input"
        per[key] = per.get(key, 0) + _trainable(layer.weights)
    return per


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_merge_k_shares_exactly_the_first_k_stages(fashion_tree, topology):
    model = MergedCNN.from_preset("small_fashion_mnist", topology=topology, **TINY)
    k = 0 if topology == "separate" else int(topology[-1])
    levels = fashion_tree.level_names
    parts = model.stage_layers()
    assert parts.get("trunk", []) == list(range(1, k + 1))
    for name in levels:
        assert parts.get(name, []) == list(range(k + 1, 4))
    # Count: shared stages once, copied stages once per level, one classifier per level.
    per = _stage_params(fashion_tree)
    heads = sum(8 * s + s for s in fashion_tree.level_sizes)
    shared = sum(per[f"s{s}"] for s in range(1, k + 1))
    copied = sum(per[f"s{s}"] for s in range(k + 1, 4))
    assert _trainable(model.weights) == shared + len(levels) * copied + heads
    trunk = sum(_trainable(l.weights) for l in model.network.layers if l.name.startswith("trunk_"))
    assert trunk == shared
    for name in levels:
        tower = sum(_trainable(l.weights) for l in model.network.layers
                    if l.name.startswith(f"{name}_s"))
        assert tower == copied


def test_unknown_topology_lists_choices():
    with pytest.raises(ValueError, match=r"merge-4.*'separate', 'merge-0', .*'merge-3'"):
        MergedCNN.from_preset("small_fashion_mnist", topology="merge-4", **TINY)
    with pytest.raises(ValueError, match="Unknown level"):
        MergedCNN.from_preset("small_fashion_mnist", levels=["leaf"], **TINY)


@pytest.mark.parametrize("topology", ["separate", "merge-1"])
def test_one_levels_loss_reaches_only_its_tower_and_the_trunk(fashion_tree, topology):
    """Why "separate" towers trained in one model are independent: the coarse loss has zero
    gradient on every other tower (merge-1: and a nonzero one on the shared stage)."""
    model = MergedCNN.from_preset("small_fashion_mnist", topology=topology, **TINY)
    x = tf.constant(_images(4))
    y = tf.constant([0, 1, 1, 0])
    with tf.GradientTape() as tape:
        logits = model.forward(model.normalize(x), training=True)["coarse"]
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
    grads = tape.gradient(loss, model.trainable_weights)
    for w, g in zip(model.trainable_weights, grads):
        norm = 0.0 if g is None else float(tf.norm(g))
        if w.path.startswith(("medium_", "fine_")):
            assert norm == 0.0, w.path
        elif w.path.startswith(("coarse_", "trunk_")) and "conv/kernel" in w.path:
            assert norm > 0.0, w.path


def test_from_towers_joins_independently_built_levels(fashion_tree):
    x = _images(4)
    towers = [MergedCNN.from_preset("small_fashion_mnist", topology="separate", levels=[n], **TINY)
              for n in fashion_tree.level_names]
    for t, n in zip(towers, fashion_tree.level_names):
        assert list(t.predict(x, verbose=0)) == [n]
    towers[0].compile(total_steps=1)  # a single-level model trains on its own level only
    hist = towers[0].fit(x, fashion_tree.leaf_paths()[:4], epochs=1, batch_size=4, verbose=0)
    assert "coarse_accuracy" in hist.history and "fine_accuracy" not in hist.history
    joined = MergedCNN.from_towers(towers, adaptation_alpha=None)
    assert joined.topology == "separate" and joined.output_levels == fashion_tree.level_names
    got = joined.predict(x, verbose=0)
    for t, n in zip(towers, fashion_tree.level_names):
        np.testing.assert_allclose(got[n], t.predict(x, verbose=0)[n], atol=1e-6)
    with pytest.raises(ValueError, match="independent towers"):
        MergedCNN.from_towers([MergedCNN.from_preset("small_fashion_mnist", topology="merge-1", **TINY)])
    with pytest.raises(ValueError, match="predicted by two"):
        MergedCNN.from_towers([towers[0], towers[0]])


def test_adaptation_alpha_baked_in_and_saved(tmp_path):
    model = MergedCNN.from_preset("small_fashion_mnist", topology="merge-2", **TINY)
    x = _images(5)
    raw = model.predict(x, verbose=0)
    assert model.adaptation_alpha is None
    model.set_adaptation_alpha([1.2, 1.0, 0.8])
    adapted = model.predict(x, verbose=0)
    want = adapt_probabilities(raw, model.hierarchy, [1.2, 1.0, 0.8])
    for n in model.level_names:
        np.testing.assert_allclose(adapted[n], want[n], atol=1e-5)
    assert model.get_config()["adaptation_alpha"] == [1.2, 1.0, 0.8]
    # Every format keeps the alpha: the reloaded models and the SavedModel predict `adapted`.
    loaded = run_round_trips(model, tmp_path, x, want=adapted, metrics={"fine_accuracy": 0.1})
    for fmt in ("config", "keras", "preset"):
        assert loaded[fmt].adaptation_alpha == [1.2, 1.0, 0.8], fmt
    model.set_adaptation_alpha(None)
    np.testing.assert_allclose(model.predict(x, verbose=0)["fine"], raw["fine"], atol=1e-6)
    single = MergedCNN.from_preset("small_fashion_mnist", levels=["fine"], **TINY)
    with pytest.raises(ValueError, match="does not predict the levels"):
        single.set_adaptation_alpha(1.0)


# ------------------------------------------------------------------ Ensemble
def test_ensemble_averages_any_family_then_adapts(tmp_path):
    x = _images(4)
    a = MergedCNN.from_preset("small_fashion_mnist", topology="merge-3", **TINY)
    b = hk.models.CNNRNN.from_preset("small_fashion_mnist", **TINY)
    c = MergedCNN.from_preset("small_fashion_mnist", levels=["coarse"], **TINY)
    pa, pb, pc = (m.predict(x, verbose=0) for m in (a, b, c))
    ens = Ensemble([a, b, c])
    got = ens.predict(x, verbose=0)
    np.testing.assert_allclose(got["coarse"], (pa["coarse"] + pb["coarse"] + pc["coarse"]) / 3, atol=1e-6)
    np.testing.assert_allclose(got["fine"], (pa["fine"] + pb["fine"]) / 2, atol=1e-6)
    ens.set_adaptation_alpha(1.0)
    adapted = ens.predict(x, verbose=0)
    want = adapt_probabilities(got, ens.hierarchy, 1.0)
    for n in ens.level_names:
        np.testing.assert_allclose(adapted[n], want[n], atol=1e-5)
    loaded = run_round_trips(ens, tmp_path, x, formats=("preset",), want=adapted,
                             metrics={"fine_accuracy": 0.1})["preset"]
    config = json.loads((tmp_path / "preset" / "config.json").read_text())
    assert [m["class_name"] for m in config["config"]["members"]] == ["MergedCNN", "CNNRNN", "MergedCNN"]
    assert loaded.adaptation_alpha == 1.0
    other = MergedCNN.from_preset("small_fashion_mnist", hierarchy=hk.Hierarchy.from_nested(
        {"A": ["a", "b"], "B": ["c"]}), **TINY)
    with pytest.raises(ValueError, match="different hierarchy"):
        Ensemble([a, other])
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])


def test_ensemble_fit_trains_each_member_on_its_own_loss():
    members = [MergedCNN.from_preset("small_fashion_mnist", topology="merge-3", **TINY) for _ in range(2)]
    ens = Ensemble(members)
    x = _images(6)
    y = hk.Hierarchy.fashion_mnist().leaf_paths()[:6]
    out = ens(x, training=True)
    want = sum(m.hierarchical_loss(y, o) for m, o in zip(members, out["_members"]))
    assert float(ens.hierarchical_loss(y, out)) == pytest.approx(float(want), rel=1e-6)
    ens.compile(total_steps=1)
    before = [w.numpy().copy() for m in members for w in m.trainable_weights]
    ens.fit(x, y, epochs=1, batch_size=6, verbose=0)
    after = [w.numpy() for m in members for w in m.trainable_weights]
    assert sum(not np.allclose(b, a) for b, a in zip(before, after)) > len(before) // 2


# ------------------------------------------------------------------ real training
@pytest.mark.slow
def test_small_mergedcnn_learns_on_bundled_subset(bundled):
    keras.utils.set_random_seed(0)
    model = MergedCNN.from_preset("small_fashion_mnist", topology="merge-2")
    res = fit_on_bundled(model, bundled, n=3000, epochs=2)
    x, y = bundled["x_test"].astype("float32"), bundled["y_test"]
    # Measured: coarse 0.98, fine 0.72 after 2 epochs on 3,000 images (chance: 0.5 / 0.1).
    assert res["fine_accuracy"] > 0.6
    assert res["coarse_accuracy"] > 0.9
    search = tune_alpha(model, (x[:1000], y[:1000]), alphas=[0.0, 0.5, 1.0, 1.5, 2.0])
    assert list(search.curve["alpha"]) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert search.curve["fine_error"].max() < 0.45
    model.set_adaptation_alpha(search.best["fine"])
    adapted = hk.metrics.evaluate_model(model, (x[1000:], y[1000:])).iloc[0]
    assert adapted["fine_accuracy"] > 0.6


def test_zoo_entry_loads_by_name_with_its_alpha_and_metrics(bundled):
    """zoo/mergedcnn_small_fashion_mnist (benchmarks/mergedcnn.py): loads by name, carries its
    validation-tuned alpha, and re-measures its stored bundled-split metrics."""
    from hier_keras import presets as preset_io

    name = "mergedcnn_small_fashion_mnist"
    assert name in MergedCNN.preset_names()
    model = MergedCNN.from_preset(name)
    meta = json.loads((preset_io.zoo_entries()[name] / "metadata.json").read_text())
    assert model.adaptation_alpha is not None and model.topology == "merge-1"
    res = hk.metrics.evaluate_model(model, (bundled["x_test"], bundled["y_test"])).iloc[0]
    for key in ("coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match", "consistency"):
        assert abs(res[key] - meta["metrics_bundled"][key]) <= meta["tolerance"], key
