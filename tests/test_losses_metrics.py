"""Tests of hier_keras.losses and hier_keras.metrics (NumPy references and hand-worked cases)."""

import doctest
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from hier_keras import Hierarchy, losses, metrics
from hier_keras.paths import argmax_paths
from hier_keras.losses import (
    HierarchicalCrossEntropy,
    hierarchical_crossentropy,
    masked_sparse_categorical_crossentropy,
)
from hier_keras.metrics import (
    Consistency,
    ExactMatch,
    LevelAccuracy,
    TopKLevelAccuracy,
    consistency,
    evaluate,
    evaluate_model,
    exact_match,
    hierarchical_prf,
    level_accuracy,
    level_metrics,
    mistake_severity,
    node_accuracy,
    paths_from_probs,
    top_k_accuracy,
)


# ------------------------------------------------------------------ helpers
def _log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _reference_loss(y, logits, weights=None, from_logits=True, sample_weight=None):
    """Straightforward NumPy loop version of eq. 1 (Guo et al. 2018)."""
    total = 0.0
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    for level, scores in enumerate(logits):
        w = 1.0 if weights is None else weights[level]
        logp = _log_softmax(scores) if from_logits else np.log(np.clip(scores, 1e-7, 1))
        num = den = 0.0
        for i, label in enumerate(y[:, level]):
            if label >= 0:
                num += -logp[i, label] * sw[i]
                den += sw[i]
        total += w * (num / den if den else 0.0)
    return total


def _random_labels(tree, n, rng, unknown=0.3):
    """Complete label paths with finer levels randomly cut to -1 (and a few -2)."""
    nodes = tree.node_paths()
    y = nodes[rng.integers(0, len(nodes), n)].copy()
    for i in range(n):
        if rng.random() < unknown:
            keep = rng.integers(0, tree.depth)
            y[i, keep:] = -1
            if keep > 0 and keep < tree.depth and rng.random() < 0.3:
                if not tree.is_leaf(keep - 1)[y[i, keep - 1]]:
                    y[i, keep] = -2
    return y.astype(np.int32)


def _random_probs(tree, n, rng):
    return {name: rng.dirichlet(np.ones(size), n).astype(np.float32)
            for name, size in zip(tree.level_names, tree.level_sizes)}


# ------------------------------------------------------------------ losses
@pytest.mark.parametrize("from_logits", [True, False])
def test_loss_matches_numpy_reference(fashion_tree, rng, from_logits):
    y = _random_labels(fashion_tree, 24, rng, unknown=0.5)
    y[3] = -1  # a fully unlabelled sample
    if from_logits:
        scores = [rng.normal(size=(24, s)).astype(np.float32) * 3 for s in fashion_tree.level_sizes]
    else:
        scores = [rng.dirichlet(np.ones(s), 24).astype(np.float32) for s in fashion_tree.level_sizes]
    weights = [0.5, 1.0, 2.0]
    expected = _reference_loss(y, scores, weights, from_logits)
    loss = HierarchicalCrossEntropy(level_weights=weights, from_logits=from_logits)
    np.testing.assert_allclose(float(loss(y, scores)), expected, rtol=1e-5)
    as_dict = dict(zip(fashion_tree.level_names, scores))
    got = hierarchical_crossentropy(y, as_dict, weights, from_logits,
                                    level_names=fashion_tree.level_names)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_loss_sample_weight_is_a_weighted_mean_per_level(rng):
    y = np.array([[0, 1], [1, -1], [0, 2], [1, 0]])
    scores = [rng.normal(size=(4, 2)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")]
    sw = np.array([1.0, 2.0, 0.5, 0.0], "float32")
    expected = _reference_loss(y, scores, sample_weight=sw)
    got = HierarchicalCrossEntropy()(y, scores, sample_weight=sw)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_masked_sample_gradient_is_exactly_zero(fashion_tree, rng):
    y = np.array([[0, 0, 0], [1, -1, -1], [-1, -1, -1], [1, 5, -2]], np.int32)
    logits = [tf.Variable(rng.normal(size=(4, s)).astype("float32") * 5)
              for s in fashion_tree.level_sizes]
    with tf.GradientTape() as tape:
        loss = HierarchicalCrossEntropy()(y, logits)
    grads = [g.numpy() for g in tape.gradient(loss, logits)]
    for level, g in enumerate(grads):
        masked = y[:, level] < 0
        assert np.all(g[masked] == 0.0), f"level {level}: masked rows got gradient"
        assert np.all(np.abs(g[~masked]).sum(axis=1) > 0)


def test_masked_gradient_zero_with_probabilities(rng):
    probs = tf.Variable(np.array([[1.0, 0.0], [0.0, 1.0]], "float32"))  # log(0) territory
    with tf.GradientTape() as tape:
        per_sample, mask = masked_sparse_categorical_crossentropy(
            np.array([0, -1]), probs, from_logits=False)
        loss = tf.reduce_sum(per_sample)
    g = tape.gradient(loss, probs).numpy()
    assert np.all(np.isfinite(g)) and np.all(g[1] == 0.0)
    np.testing.assert_array_equal(np.asarray(mask), [1.0, 0.0])


def test_all_masked_level_gives_zero_not_nan(rng):
    y = np.array([[0, -1], [1, -1]])
    logits = [tf.Variable(rng.normal(size=(2, 2)).astype("float32")),
              tf.Variable(rng.normal(size=(2, 3)).astype("float32"))]
    with tf.GradientTape() as tape:
        loss = HierarchicalCrossEntropy(level_weights=[0.0, 1.0])(y, logits)
    assert float(loss) == 0.0
    grads = tape.gradient(loss, logits)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    assert float(HierarchicalCrossEntropy()(np.full((2, 2), -1), logits)) == 0.0


def test_level_weights_scale_each_level(fashion_tree, rng):
    y = _random_labels(fashion_tree, 16, rng)
    scores = [rng.normal(size=(16, s)).astype("float32") for s in fashion_tree.level_sizes]
    per_level = [float(HierarchicalCrossEntropy(level_weights=w)(y, scores))
                 for w in ([1, 0, 0], [0, 1, 0], [0, 0, 1])]
    weighted = float(HierarchicalCrossEntropy(level_weights=[2.0, 0.5, 3.0])(y, scores))
    np.testing.assert_allclose(weighted, 2 * per_level[0] + 0.5 * per_level[1] + 3 * per_level[2],
                               rtol=1e-5)
    np.testing.assert_allclose(float(HierarchicalCrossEntropy()(y, scores)), sum(per_level),
                               rtol=1e-5)


def test_loss_config_round_trip_and_errors(fashion_tree):
    loss = HierarchicalCrossEntropy(level_weights=[1, 2, 3], from_logits=False,
                                    level_names=fashion_tree.level_names, name="hce")
    config = json.loads(json.dumps(loss.get_config()))
    again = HierarchicalCrossEntropy.from_config(config)
    assert again.get_config() == loss.get_config()
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, HierarchicalCrossEntropy) and restored.level_weights == [1, 2, 3]
    y = np.zeros((1, 3), np.int32)
    scores = [np.ones((1, s), "float32") for s in fashion_tree.level_sizes]
    with pytest.raises(ValueError, match="level_names"):
        HierarchicalCrossEntropy()(y, dict(zip(fashion_tree.level_names, scores)))
    with pytest.raises(ValueError, match="2 levels"):
        HierarchicalCrossEntropy()(y[:, :2], scores)
    with pytest.raises(ValueError, match="one weight per level"):
        HierarchicalCrossEntropy(level_weights=[1.0])(y, scores)


# ------------------------------------------------------------------ streaming metrics
@pytest.mark.parametrize("tree_name", ["fashion_tree", "variable_tree"])
def test_streaming_metrics_equal_numpy_over_batches(tree_name, request, rng):
    tree = request.getfixturevalue(tree_name)
    y = _random_labels(tree, 60, rng, unknown=0.4)
    probs = _random_probs(tree, 60, rng)
    fine = tree.depth - 1
    streaming = level_metrics(tree) + [TopKLevelAccuracy(fine, 2, tree.level_names[fine])]
    for start in range(0, 60, 16):  # 4 uneven batches
        batch = {k: v[start:start + 16] for k, v in probs.items()}
        for m in streaming:
            m.update_state(y[start:start + 16], batch)
    got = {m.name: float(m.result()) for m in streaming}
    raw = paths_from_probs(probs, tree, cut_after_leaves=False)
    cut = paths_from_probs(probs, tree)
    for level, name in enumerate(tree.level_names):
        assert got[f"{name}_accuracy"] == pytest.approx(level_accuracy(y, raw, level))
    assert got["exact_match"] == pytest.approx(exact_match(y, cut))
    assert got["consistency"] == pytest.approx(consistency(cut, tree))
    assert got[f"top2_{tree.level_names[fine]}_accuracy"] == pytest.approx(
        top_k_accuracy(y[:, fine], probs[tree.level_names[fine]], 2))
    if tree_name == "variable_tree":  # random probs do predict leaves above the last level
        assert (cut[:, -1] < 0).any() and not np.array_equal(cut, raw)
    for m in streaming:
        m.reset_state()
        assert float(m.result()) == 0.0


def test_streaming_metrics_run_in_a_graph(fashion_tree, rng):
    y = _random_labels(fashion_tree, 8, rng)
    probs = _random_probs(fashion_tree, 8, rng)
    ms = level_metrics(fashion_tree)

    @tf.function
    def update(y, probs):
        for m in ms:
            m.update_state(y, probs)

    update(tf.constant(y), {k: tf.constant(v) for k, v in probs.items()})
    cut = paths_from_probs(probs, fashion_tree)
    assert float(ms[3].result()) == pytest.approx(exact_match(y, cut))


def _one_hot(tree, paths):
    """Probabilities putting all mass on the given per-level ids."""
    return {name: np.eye(size, dtype="float32")[np.asarray(paths)[:, level]]
            for level, (name, size) in enumerate(zip(tree.level_names, tree.level_sizes))}


def test_masked_levels_are_not_counted(fashion_tree):
    y = np.array([[0, 0, 6], [1, -1, -1], [-1, -1, -1], [0, -2, -1]])
    pred = np.array([[0, 0, 0], [1, 5, 9], [0, 0, 0], [1, 0, 0]])
    probs = _one_hot(fashion_tree, pred)
    ms = {m.name: m for m in level_metrics(fashion_tree)}
    for m in ms.values():
        m.update_state(y, probs)
    assert float(ms["coarse_accuracy"].result()) == pytest.approx(2 / 3)  # 3 known, 2 right
    assert float(ms["medium_accuracy"].result()) == 1.0  # only row 0 known
    assert float(ms["fine_accuracy"].result()) == 0.0  # only row 0 known, wrong
    assert float(ms["exact_match"].result()) == pytest.approx(1 / 3)  # row 2 not counted
    assert exact_match(y, pred) == pytest.approx(1 / 3)
    assert level_accuracy(y, pred, 1) == 1.0
    assert np.isnan(level_accuracy(np.full((2, 3), -1), pred[:2], 0))


def test_consistency_catches_an_inconsistent_path(fashion_tree):
    # Row 1: medium "Shoes" (5) under coarse "Clothes" (0). Row 2: fine "Bag" (8) under "Shoes".
    pred = np.array([[1, 5, 9], [0, 5, 9], [1, 5, 8]])
    m = Consistency(fashion_tree)
    m.update_state(np.zeros((3, 3), "int32"), _one_hot(fashion_tree, pred))
    assert float(m.result()) == pytest.approx(1 / 3)
    assert consistency(pred, fashion_tree) == pytest.approx(1 / 3)
    # Two predicted levels only (coarse skips medium): "Bag" -> Goods is fine, -> Clothes is not.
    two = Consistency(fashion_tree, levels=["coarse", "fine"])
    probs = _one_hot(fashion_tree, np.array([[1, 0, 8], [0, 0, 8]]))
    two.update_state(np.zeros((2, 3), "int32"), {k: probs[k] for k in ("coarse", "fine")})
    assert float(two.result()) == 0.5


def test_variable_depth_leaf_ends_the_predicted_path(variable_tree):
    # Level-1 "a2" is a leaf: whatever the finest head says is not part of the path.
    pred = np.array([[0, 1, 2]])
    probs = _one_hot(variable_tree, pred)
    assert paths_from_probs(probs, variable_tree).tolist() == [[0, 1, -1]]
    assert consistency(pred, variable_tree) == 0.0  # raw path: z is not a child of a2
    m = Consistency(variable_tree)
    m.update_state(np.zeros((1, 3), "int32"), probs)
    assert float(m.result()) == 1.0
    em = ExactMatch(variable_tree)
    em.update_state(np.array([[0, 0, 0]]), _one_hot(variable_tree, np.array([[0, 1, 0]])))
    assert float(em.result()) == 0.0


def test_streaming_sample_weight(fashion_tree):
    y = np.array([[0, 0, 0], [1, 5, 9]])
    probs = _one_hot(fashion_tree, np.array([[0, 0, 0], [0, 0, 0]]))
    m = LevelAccuracy(0, "coarse")
    m.update_state(y, probs, sample_weight=np.array([3.0, 1.0]))
    assert float(m.result()) == pytest.approx(0.75)


def test_list_outputs_and_missing_level_name(fashion_tree, rng):
    y = _random_labels(fashion_tree, 10, rng)
    probs = _random_probs(fashion_tree, 10, rng)
    as_list = [probs[n] for n in fashion_tree.level_names]
    a, b = LevelAccuracy(2), LevelAccuracy(2, "fine")
    a.update_state(y, as_list)
    b.update_state(y, probs)
    assert float(a.result()) == float(b.result())
    assert a.name == "level_2_accuracy" and b.name == "fine_accuracy"
    e1, e2 = ExactMatch(), ExactMatch(fashion_tree)
    e1.update_state(y, as_list)
    e2.update_state(y, probs)
    assert float(e1.result()) == pytest.approx(float(e2.result()))
    with pytest.raises(ValueError, match="level_name"):
        LevelAccuracy(2).update_state(y, probs)


def test_level_metrics_names_and_subset(fashion_tree):
    assert [m.name for m in level_metrics(fashion_tree)] == [
        "coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match", "consistency"]
    sub = level_metrics(fashion_tree, levels=["coarse"], top_k=5)
    assert [m.name for m in sub] == ["coarse_accuracy", "exact_match"]
    assert "top5_fine_accuracy" in [m.name for m in level_metrics(fashion_tree, top_k=5)]
    # A model predicting only the coarse level: exact match judges that level only.
    em = sub[1]
    em.update_state(np.array([[0, 0, 6]]), {"coarse": np.array([[0.9, 0.1]])})
    assert float(em.result()) == 1.0


@pytest.mark.parametrize("make", [
    lambda t: LevelAccuracy(1, "medium"),
    lambda t: TopKLevelAccuracy(2, 3, "fine"),
    lambda t: ExactMatch(t),
    lambda t: ExactMatch(),
    lambda t: Consistency(t, levels=["coarse", "fine"]),
])
def test_metric_config_round_trip(make, fashion_tree, rng):
    metric = make(fashion_tree)
    config = json.loads(json.dumps(metric.get_config()))
    clone = type(metric).from_config(config)
    restored = keras.metrics.deserialize(keras.metrics.serialize(metric))
    assert clone.get_config() == metric.get_config() == restored.get_config()
    y = _random_labels(fashion_tree, 12, rng)
    probs = _random_probs(fashion_tree, 12, rng)
    if isinstance(metric, ExactMatch) and metric.hierarchy is None:
        probs = [probs[n] for n in fashion_tree.level_names]
    for m in (metric, clone, restored):
        m.update_state(y, probs)
    assert float(clone.result()) == float(metric.result()) == float(restored.result())


# ------------------------------------------------------------------ NumPy functions
def test_node_accuracy_and_exact_match_hand_example():
    y = np.array([[0, 1, 2], [1, 3, -1], [-1, -1, -1]])
    p = np.array([[0, 1, 0], [0, 3, 4], [0, 0, 0]])
    assert node_accuracy(y, p) == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert exact_match(y, p) == 0.0
    assert exact_match(y, np.array([[0, 1, 2], [1, 3, 7], [5, 5, 5]])) == 1.0
    assert np.isnan(node_accuracy(y[2:], p[2:]))


# Variable tree ids: level 0 A=0 B=1; level 1 a1=0 a2=1 (leaf) b1=2 b2=3 (leaf); level 2 x=0 y=1 z=2.
HAND_TRUE = np.array([
    [0, 0, 0],     # A a1 x
    [0, 1, -1],    # A a2 (leaf)
    [1, -2, -1],   # B, path ends there on purpose
    [1, -1, -1],   # B, finer levels unknown
    [-1, -1, -1],  # unlabelled: left out
    [1, 3, -1],    # B b2 (leaf)
])
HAND_PRED = np.array([
    [0, 0, 1],     # A a1 y: |P|=3 |T|=3 inter=2, fine mistake, LCA height 1
    [0, 0, 0],     # A a1 x: |P|=3 |T|=2 inter=1, mistake, LCA height 2
    [1, 3, -1],    # B b2:   |P|=2 |T|=1 inter=1 (too deep costs precision), no mistake
    [1, 2, 2],     # B b1 z: only B is judged: |P|=1 |T|=1 inter=1, no mistake
    [0, 0, 0],
    [0, 1, -1],    # A a2:   |P|=2 |T|=2 inter=0, mistake, LCA height 2
])


def test_hierarchical_prf_hand_example(variable_tree):
    h_p, h_r, h_f = hierarchical_prf(HAND_TRUE, HAND_PRED, variable_tree)
    assert h_p == pytest.approx(5 / 11)
    assert h_r == pytest.approx(5 / 9)
    assert h_f == pytest.approx(0.5)  # 2 * (5/11) * (5/9) / (5/11 + 5/9)
    perfect = hierarchical_prf(HAND_TRUE[:2], HAND_TRUE[:2], variable_tree)
    assert perfect == (1.0, 1.0, 1.0)


def test_mistake_severity_hand_example(variable_tree, fashion_tree):
    assert mistake_severity(HAND_TRUE, HAND_PRED, variable_tree) == pytest.approx(5 / 3)
    assert np.isnan(mistake_severity(HAND_TRUE[2:4], HAND_PRED[2:4], variable_tree))
    y = fashion_tree.complete(np.array([0, 0, 9]))  # T-shirt, T-shirt, Ankle boot
    p = np.array([[0, 0, 6], [1, 5, 9], [1, 5, 7]])  # Shirt (h=1), Ankle boot (h=3), Sneaker (h=1)
    assert mistake_severity(y, p, fashion_tree) == pytest.approx(5 / 3)


def test_top_k_accuracy_masks_unknown():
    probs = np.array([[0.5, 0.1, 0.4], [0.1, 0.5, 0.4], [0.2, 0.3, 0.5]])
    assert top_k_accuracy([2, 0, -1], probs, k=2) == 0.5
    assert top_k_accuracy([2, 0, 0], probs, k=3) == 1.0
    assert np.isnan(top_k_accuracy([-1, -1, -1], probs, k=1))


# ------------------------------------------------------------------ evaluate
def test_evaluate_columns_and_values(fashion_tree, variable_tree, rng):
    y = fashion_tree.complete(np.array([0, 9, 3, 5]))
    probs = _one_hot(fashion_tree, y)
    df = evaluate(y, probs, fashion_tree)
    assert len(df) == 1
    assert list(df.columns) == [
        "coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match", "node_accuracy",
        "consistency", "hP", "hR", "hF1", "mistake_severity", "top5_fine_accuracy"]
    row = df.iloc[0]
    assert row["exact_match"] == 1.0 and row["hF1"] == 1.0 and np.isnan(row["mistake_severity"])
    # `paths` overrides the argmax: one fine mistake out of four.
    paths = y.copy()
    paths[0, 2] = 6
    row = evaluate(y, probs, fashion_tree, paths=paths).iloc[0]
    assert row["fine_accuracy"] == 0.75 and row["exact_match"] == 0.75
    assert row["top5_fine_accuracy"] == 1.0  # still from the probabilities
    assert row["mistake_severity"] == 1.0
    # Finest-level ids are completed; no top-5 column when the finest level is small.
    vy = variable_tree.node_paths()
    vrow = evaluate(vy, _random_probs(variable_tree, len(vy), rng), variable_tree).iloc[0]
    assert "top5_fine_accuracy" not in vrow.index
    assert evaluate(np.array([0, 9]), None, fashion_tree,
                    paths=fashion_tree.complete([0, 9])).iloc[0]["exact_match"] == 1.0


class _StubModel:
    """`predict` -> per-level probs; optional `predict_label_paths` hook."""

    def __init__(self, tree, probs, paths=None):
        self.hierarchy, self.probs, self.paths = tree, probs, paths
        if paths is not None:
            self.predict_label_paths = lambda x, batch_size=256, probs=None: self.paths[:len(x)]

    def predict(self, x, batch_size=None, verbose=0):
        return {**{k: v[:len(x)] for k, v in self.probs.items()}, "_logits": None}


def test_evaluate_model_dataset_and_paths_hook(fashion_tree):
    y = fashion_tree.complete(np.array([0, 9, 3, 7, 1]))
    x = np.zeros((5, 4, 4, 1), "float32")
    probs = _one_hot(fashion_tree, y)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    row = evaluate_model(_StubModel(fashion_tree, probs), ds).iloc[0]
    assert row["exact_match"] == 1.0
    decoded = y.copy()
    decoded[:, 2] = 7  # Sneaker everywhere: right only for row 3
    hooked = evaluate_model(_StubModel(fashion_tree, probs, decoded), (x, y)).iloc[0]
    assert hooked["fine_accuracy"] == pytest.approx(1 / 5)
    assert hooked["coarse_accuracy"] == 1.0


def test_docstring_examples_run():
    modules = (losses, metrics, metrics.streaming, metrics.path_metrics, metrics.multilabel,
               metrics.evaluation)
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_metrics_package_keeps_every_public_name():
    names = ["Consistency", "EPSILON", "ExactMatch", "LevelAccuracy", "TopKLevelAccuracy",
             "consistency", "evaluate", "evaluate_model", "exact_match", "hierarchical_prf",
             "level_accuracy", "level_metrics", "mistake_severity", "multilabel_f1",
             "multilabel_on_nodes", "multilabel_path_sets", "node_accuracy", "path_accuracy",
             "paths_from_probs", "top_k_accuracy", "tune_threshold"]
    assert sorted(metrics.__all__) == sorted(names)
    for name in names:
        assert getattr(metrics, name) is not None
    assert callable(metrics.evaluate)


def test_paths_from_probs_is_argmax_paths_and_takes_any_hierarchy_form(variable_tree, rng):
    probs = _random_probs(variable_tree, 20, rng)
    for cut in (True, False):
        np.testing.assert_array_equal(paths_from_probs(probs, variable_tree, cut_after_leaves=cut),
                                      argmax_paths(probs, variable_tree, cut=cut))
    np.testing.assert_array_equal(paths_from_probs(probs, variable_tree.to_dict()),
                                  paths_from_probs(probs, variable_tree))
    y = variable_tree.node_paths()
    assert consistency(y, variable_tree.to_dict()) == 1.0
    assert hierarchical_prf(y, y, variable_tree.to_dict()) == (1.0, 1.0, 1.0)
    fashion = Hierarchy.fashion_mnist()
    y = fashion.complete(np.array([0, 9]))
    assert float(evaluate(y, None, "fashion_mnist", paths=y)["exact_match"].iloc[0]) == 1.0
    assert level_metrics("fashion_mnist")[-1].hierarchy == fashion
