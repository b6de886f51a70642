"""DHNN (Koo et al. 2018): beam search against exhaustive enumeration, S2S on a
variable-depth tree with explicit ends, residual arcs, alternating training, multi-label
mode, backbones, serialization, and a short real training on Fashion-MNIST."""

import keras
import numpy as np
import pytest
from helpers import log_softmax, random_images, run_round_trips
from keras import ops

import hier_keras as hk
from hier_keras.layers import beam_search
from hier_keras.models.dhnn.dhnn import default_taps
from hier_keras.training import AlternatingTraining

TINY = hk.models.DHNN.tiny_overrides  # small backbone (4, 8, 8), p = 8, 8 units, 1 layer


def _general_tree():
    return hk.Hierarchy.from_paths([["A", "a1", "x"], ["A", "a1", "y"], ["A", "a2"],
                                    ["B", "b1", "z"], ["B", "b2"]])


def _general_labels(tree):
    """Seven classes: paths to leaves at levels 1 and 2, and explicit ends (-2) at A/a1 and B."""
    rows = [tree.path_from_names(p) for p in
            (["A", "a1", "x"], ["A", "a1", "y"], ["A", "a2"], ["B", "b1", "z"], ["B", "b2"])]
    a1 = tree.path_from_names(["A", "a1"]).copy()
    a1[2] = -2
    b = tree.path_from_names(["B"]).copy()
    b[1] = -2
    return np.array(rows + [a1, b], np.int32)


# ------------------------------------------------------------------ beam search
def test_fpl_beam_search_finds_most_likely_path(fashion_tree):
    """FPL inference: the path maximising sum_t log softmax_N(o_t)[y_t] over all tree paths."""
    keras.utils.set_random_seed(0)
    model = hk.models.DHNN(fashion_tree, (28, 28, 1), decoder="rnn", residual=True,
                           beam_width=10, **TINY)
    x = random_images((28, 28, 1), 16, seed=1)
    u, seq, _ = model.encode(x)
    # Sharpen the logits so the per-level argmax is often not the best path.
    logp = log_softmax(3 * np.asarray(model.fpl_logits(u, seq)))
    offs = fashion_tree.node_offsets
    leaves = fashion_tree.leaf_paths()
    scores = np.stack([sum(logp[:, t, offs[t] + p[t]] for t in range(3)) for p in leaves], 1)
    want = leaves[scores.argmax(1)]

    def step(t, prev, state):
        (lp,) = state
        return lp[:, t, offs[t]:offs[t] + fashion_tree.level_sizes[t]], state

    paths, _, best = beam_search(step, (ops.convert_to_tensor(logp.astype("float32")),),
                                 fashion_tree, 16, beam_width=10, renormalize=False)
    np.testing.assert_array_equal(np.asarray(paths), want)
    np.testing.assert_allclose(np.asarray(best), scores.max(1), rtol=1e-5)
    # The model's own decoder uses the same scoring.
    got = model.predict_label_paths(x)
    assert fashion_tree.path_is_valid(got).all()
    u_logp = log_softmax(np.asarray(model.fpl_logits(u, seq)))
    model_scores = np.stack([sum(u_logp[:, t, offs[t] + p[t]] for t in range(3)) for p in leaves], 1)
    np.testing.assert_array_equal(got, leaves[model_scores.argmax(1)])


def test_end_token_beam_search_is_exact_on_general_tree():
    """S2S inference: the best path of any length (end token after any node) by enumeration."""
    tree = _general_tree()
    n_nodes, offs, batch = tree.num_nodes, tree.node_offsets, 12
    rng = np.random.default_rng(3)
    tables = [rng.normal(size=(batch, n_nodes + 2, n + 1)).astype("float32") * 2
              for n in tree.level_sizes]

    def step(t, prev, state):
        (rows,) = state
        return ops.convert_to_tensor(tables[t][np.asarray(rows), np.asarray(prev)]), state

    rows = ops.convert_to_tensor(np.arange(batch, dtype="int32"))
    paths, probs, best = beam_search(step, (rows,), tree, batch, beam_width=n_nodes,
                                     end_token=True)
    paths = np.asarray(paths)
    mask = tree.child_mask()
    leaf = tree.node_is_leaf()
    for b in range(batch):
        best_score, best_path = -np.inf, None
        for node_path in tree.node_paths():  # every path from the root to a node
            k = int((node_path >= 0).sum())
            score, prev = 0.0, n_nodes
            for t in range(k):
                allowed = np.append(mask[prev, offs[t]:offs[t] + tree.level_sizes[t]],
                                    prev != n_nodes)
                score += log_softmax(np.where(allowed, tables[t][b, prev], -1e9))[node_path[t]]
                prev = offs[t] + node_path[t]
            want_path = node_path.copy()
            if k < tree.depth:
                if not leaf[prev]:  # ending at an internal node costs log p(end)
                    allowed = np.append(mask[prev, offs[k]:offs[k] + tree.level_sizes[k]], True)
                    score += log_softmax(np.where(allowed, tables[k][b, prev], -1e9))[-1]
                    want_path[k] = -2
            if score > best_score:
                best_score, best_path = score, want_path
        np.testing.assert_array_equal(paths[b], best_path)
        assert abs(float(np.asarray(best)[b]) - best_score) < 1e-4
    lengths = (paths >= 0).sum(1)
    assert len(set(lengths.tolist())) > 1
    for level, p in enumerate(probs):  # rows sum to 1 while the path goes on, else 0
        sums = np.asarray(p).sum(-1)
        np.testing.assert_allclose(sums, (paths[:, level] >= 0).astype(float), atol=1e-5)


# ------------------------------------------------------------------ S2S on a general tree
def _pattern_images(labels_idx, rng, size=12):
    """A bright 3x3 square whose position encodes the class, on noise."""
    x = rng.uniform(0, 40, (len(labels_idx), size, size, 1)).astype("float32")
    for i, c in enumerate(labels_idx):
        r, col = divmod(int(c), 3)
        x[i, 1 + 4 * r:4 + 4 * r, 1 + 4 * col:4 + 4 * col] = 255
    return x


def test_s2s_decodes_variable_length_paths_and_never_leaves_the_tree(rng):
    tree = _general_tree()
    classes = _general_labels(tree)
    keras.utils.set_random_seed(0)
    model = hk.models.DHNN(tree, (12, 12, 1), backbone="small",
                           backbone_kwargs={"widths": [8, 16, 16]}, decoder="s2s",
                           converter="linear", input_dim=16, units=32, embedding_dim=16,
                           beam_width=3)
    # Untrained: random weights still give paths inside the tree.
    noise = rng.uniform(0, 255, (32, 12, 12, 1)).astype("float32")
    tree.validate_labels(model.predict_label_paths(noise))
    idx = np.tile(np.arange(len(classes)), 12)
    x, y = _pattern_images(idx, rng), classes[idx]
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, y, epochs=25, batch_size=42, verbose=0)
    test_idx = np.tile(np.arange(len(classes)), 3)
    paths = model.predict_label_paths(_pattern_images(test_idx, rng))
    tree.validate_labels(paths)  # -2 only right after internal nodes, parents consistent
    assert tree.path_is_valid(paths).all()
    assert hk.metrics.path_accuracy(classes[test_idx], paths, tree) >= 0.85
    lengths = (paths >= 0).sum(1)
    assert {1, 2, 3} <= set(lengths.tolist())
    assert (paths == -2).any()


def test_s2s_loss_trains_the_end_token_only_on_minus_two(fashion_tree):
    keras.utils.set_random_seed(0)
    tree = _general_tree()
    model = hk.models.DHNN(tree, (12, 12, 1), decoder="s2s", **TINY)
    x = np.zeros((2, 12, 12, 1), "float32")
    _, _, state = model.encode(x)
    labels = np.array([[0, 0, -2], [0, 0, -1]], np.int32)
    logits = [np.asarray(v) for v in model.teacher_forced_logits(state, labels)]
    n, offs = tree.num_nodes, tree.node_offsets
    want = np.mean([-log_softmax(logits[0][i])[offs[0] + 0] for i in range(2)])
    want += np.mean([-log_softmax(logits[1][i])[offs[1] + 0] for i in range(2)])
    want += -log_softmax(logits[2][0])[n]  # only the first sample's end is trained
    got = float(model.hierarchical_loss(ops.convert_to_tensor(labels), {"_state": state}))
    assert abs(got - want) < 1e-4


@pytest.mark.parametrize("decoder", ["rnn", "s2s"])
def test_evaluate_reports_the_training_loss_without_dropout(decoder, fashion_tree):
    """val_loss is the training loss on the evaluation images (dropout off), not the
    cross-entropy of the beam-decoded levels (0 probability under a wrong parent)."""
    keras.utils.set_random_seed(0)
    model = hk.models.DHNN(fashion_tree, (28, 28, 1), decoder=decoder, dropout=0.5, **TINY)
    x = random_images((28, 28, 1), 8)
    y = fashion_tree.complete(np.arange(8) % 10)
    u, seq, state = model.encode(x)
    if decoder == "rnn":
        logits = np.asarray(model.fpl_logits(u, seq))
        logits = [logits[:, t] for t in range(3)]
    else:
        logits = [np.asarray(v) for v in model.teacher_forced_logits(state, y, training=False)]
    offs = fashion_tree.node_offsets
    want = sum(np.mean(-log_softmax(logits[t])[np.arange(8), offs[t] + y[:, t]])
               for t in range(3)) + sum(float(v) for v in model.losses)
    model.compile()
    got = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"]
    assert got == pytest.approx(want, rel=1e-4)


# ------------------------------------------------------------------ FPL details
def test_residual_arc_dimensions_and_loss(fashion_tree):
    keras.utils.set_random_seed(0)
    model = hk.models.DHNN(fashion_tree, (28, 28, 1), decoder="rnn", residual=True, **TINY)
    # o_t + z(u_t): z maps R^p -> R^N (the paper's u_t + z(o_t) cannot add up).
    assert tuple(model.residual_layer.kernel.shape) == (8, fashion_tree.num_nodes)
    x = random_images((28, 28, 1), 3)
    u, seq, _ = model.encode(x)
    logits = np.asarray(model.fpl_logits(u, seq))
    no_res = np.asarray(model.output_layer(seq))
    np.testing.assert_allclose(logits - no_res, np.asarray(u) @ np.asarray(model.residual_layer.kernel),
                               rtol=1e-4, atol=1e-5)
    y = fashion_tree.complete(np.array([0, 5, 9]))
    w = [1.0, 2.0, 0.5]
    model.level_weights = w
    offs = fashion_tree.node_offsets
    want = sum(w[t] * np.mean(-log_softmax(logits[:, t])[np.arange(3), offs[t] + y[:, t]])
               for t in range(3))
    got = float(model.hierarchical_loss(ops.convert_to_tensor(y), {"_logits": logits}))
    assert abs(got - want) < 1e-4


def test_taps_and_bad_arguments(fashion_tree):
    assert default_taps(["stage_1", "stage_2", "stage_3"], 3) == [["stage_1"], ["stage_2"], ["stage_3"]]
    with pytest.raises(ValueError, match="must be increasing"):
        hk.models.DHNN(fashion_tree, (28, 28, 1), taps=[[2], [1], [3]], **TINY)
    with pytest.raises(ValueError, match="not a stage of the backbone"):
        hk.models.DHNN(fashion_tree, (28, 28, 1), taps=[[1], [2], [7]], **TINY)
    with pytest.raises(ValueError, match="needs 3 subsets"):
        hk.models.DHNN(fashion_tree, (28, 28, 1), taps=[[1], [2, 3]], **TINY)
    deep = hk.Hierarchy.from_paths([["a", "b", "c", "d"], ["a", "b", "c", "e"]])
    with pytest.raises(ValueError, match="only 3 stages"):
        hk.models.DHNN(deep, (28, 28, 1), **TINY)
    with pytest.raises(ValueError, match="belong to the FPL model"):
        hk.models.DHNN(fashion_tree, (28, 28, 1), decoder="s2s", residual=True, **TINY)
    with pytest.raises(ValueError, match="Unknown converter 'fft'"):
        hk.models.DHNN(fashion_tree, (28, 28, 1), converter="fft", **TINY)
    with pytest.raises(ValueError, match="Unknown decoder"):
        hk.models.DHNN(fashion_tree, (28, 28, 1), decoder="gru", **TINY)
    with pytest.raises(ValueError, match="no convolution maps"):
        hk.models.DHNN(fashion_tree, (28, 28, 1), converter="conv",
                       converter_kwargs={"filters": 3}, **TINY)


# ------------------------------------------------------------------ alternating training
def test_alternating_training_freezes_what_it_says(fashion_tree):
    keras.utils.set_random_seed(0)
    model = hk.models.DHNN(fashion_tree, (28, 28, 1), decoder="rnn", residual=True, **TINY)
    groups = model.layer_groups()
    cnn = [w for layer in groups["cnn"] for w in layer.weights]
    rnn = [w for layer in groups["rnn"] for w in layer.weights]
    assert {id(w) for w in cnn + rnn} == {id(w) for w in model.weights}
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 28, 28, 1)).astype("float32")
    y = fashion_tree.complete(rng.integers(0, 10, 16))
    snaps, trainable = [[w.numpy().copy() for w in model.weights]], []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snaps.append([w.numpy().copy() for w in model.weights])
            trainable.append({id(w) for w in model.trainable_weights})

    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    cb = AlternatingTraining([("rnn", 1), ("cnn", 1), ("all", None)])
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[cb, Record()])
    assert [p for _, _, p in cb.history] == ["rnn", "cnn", "all"]
    index = {id(w): i for i, w in enumerate(model.weights)}

    def changed(epoch, ws):
        return [not np.array_equal(snaps[epoch][index[id(w)]], snaps[epoch + 1][index[id(w)]])
                for w in ws]

    rnn_train = {id(w) for w in rnn if w.trainable}
    cnn_train = {id(w) for layer in groups["cnn"] for w in layer.trainable_weights}
    assert trainable[0] == rnn_train and trainable[1] == cnn_train
    assert trainable[2] == rnn_train | cnn_train
    assert not any(changed(0, cnn)) and all(changed(0, [w for w in rnn if id(w) in rnn_train]))
    assert not any(changed(1, rnn))
    assert any(changed(1, [w for w in cnn if id(w) in cnn_train]))
    assert any(changed(2, cnn)) and any(changed(2, rnn))
    assert all(layer.trainable for layer in groups["cnn"] + groups["rnn"])  # restored


def test_alternating_training_by_steps_and_errors():
    cb = AlternatingTraining([("rnn", 3), ("cnn", 2), ("all", None)], unit="step")
    assert [cb.phase_at(i) for i in range(7)] == ["rnn"] * 3 + ["cnn"] * 2 + ["all"] * 2
    with pytest.raises(ValueError, match="Unknown phase 'decoder'"):
        AlternatingTraining([("decoder", 1)])
    with pytest.raises(ValueError, match="`unit` must be"):
        AlternatingTraining(unit="minute")
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
                                                  backbone_kwargs={"widths": [4, 8, 8]})
    model.compile(total_steps=1)
    with pytest.raises(ValueError, match="needs a model with `layer_groups"):
        model.fit(np.zeros((2, 28, 28, 1)), np.array([[0, 0, 0]] * 2), verbose=0,
                  callbacks=[AlternatingTraining()])


# ------------------------------------------------------------------ multi-label
def test_multilabel_outputs_loss_threshold_and_round_trip(fashion_tree, tmp_path):
    keras.utils.set_random_seed(0)
    model = hk.models.DHNN(fashion_tree, (28, 56, 1), decoder="s2s", multi_label=True,
                           converter="conv", **TINY)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (6, 28, 56, 1)).astype("float32")
    y = np.stack([fashion_tree.complete(rng.integers(0, 10, 6)),
                  fashion_tree.complete(rng.integers(0, 10, 6))], axis=1)
    out = model.predict(x, verbose=0)
    assert {k: v.shape for k, v in out.items()} == {"coarse": (6, 2), "medium": (6, 6),
                                                    "fine": (6, 10)}
    assert ((out["fine"] > 0) & (out["fine"] < 1)).all()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    loss = model.fit(x, y, epochs=3, batch_size=6, verbose=0).history["loss"]
    assert np.isfinite(loss).all() and loss[-1] < loss[0]
    scores = model.predict(x, verbose=0)
    thr = model.tune_threshold(x, y, thresholds=[0.1, 0.3, 0.5, 0.7])
    f1s = {t: hk.metrics.multilabel_f1(y, scores, fashion_tree, t)["path_f1"] for t in [0.1, 0.3, 0.5, 0.7]}
    assert f1s[thr] == max(f1s.values()) and model.threshold == thr
    sets = model.predict_path_sets(x)
    assert len(sets) == 6 and all(fashion_tree.path_is_valid(s).all() for s in sets if len(s))
    with pytest.raises(ValueError, match="predict_path_sets"):
        model.predict_label_paths(x)
    loaded = run_round_trips(model, tmp_path, x, want=scores)
    for fmt in ("config", "keras", "preset"):
        assert loaded[fmt].threshold == thr, fmt


def test_multilabel_f1_by_hand(fashion_tree):
    y = np.array([[[0, 0, 0], [1, 5, 9]]])  # T-shirt/top and Ankle boot
    probs = {n: np.zeros((1, s)) for n, s in zip(fashion_tree.level_names, fashion_tree.level_sizes)}
    probs["coarse"][0, [0, 1]] = 0.9
    probs["medium"][0, [0, 5]] = 0.9
    probs["fine"][0, [0, 7]] = 0.9  # Sandal instead of Ankle boot
    probs["fine"][0, 3] = 0.9       # Trouser: its parent Bottoms is off, so it is off
    r = hk.metrics.multilabel_f1(y, probs, fashion_tree, 0.5)
    assert r["path_precision"] == 0.5 and r["path_recall"] == 0.5
    assert abs(r["node_f1"] - 5 / 6) < 1e-9  # 5 of 6 predicted nodes right, 5 of 6 true found


# ------------------------------------------------------------------ backbones
def test_imagenet_backbones_match_keras_applications_and_attention_counts():
    from hier_keras.backbones import build_backbone

    for name, ref in (("vgg16", keras.applications.VGG16), ("resnet50", keras.applications.ResNet50)):
        ours = build_backbone(name, (32, 32, 3))
        theirs = ref(weights=None, include_top=False, input_shape=(32, 32, 3))
        assert ours.count_params() == theirs.count_params()
        assert [k for k in ours.output if k.startswith("stage_")] == [f"stage_{i}" for i in range(1, 6)]
    small = dict(blocks=(1, 2, 1, 1), widths=(16, 16, 32, 32), stem_width=8)
    base = build_backbone("resnet50", (32, 32, 3), **small).count_params()
    outs = [64, 64, 64, 128, 128]  # 4 * width per block
    # SE: FC C -> C/16 (+bias), FC C/16 -> C (+bias) per block.
    se = sum(2 * c * (c // 16) + c // 16 + c for c in outs)
    assert build_backbone("se_resnet50", (32, 32, 3), **small).count_params() == base + se
    # CBAM: the same shared MLP + a 7x7 conv 2 -> 1 without bias + its BN (4 params).
    cbam = se + len(outs) * (7 * 7 * 2 + 4)
    assert build_backbone("cbam_resnet50", (32, 32, 3), **small).count_params() == base + cbam


# ------------------------------------------------------------------ presets and training
def test_preset_round_trip_and_real_training(bundled, tmp_path):
    """A short real run on the bundled Fashion-MNIST subset; a broken model stays near chance."""
    keras.utils.set_random_seed(0)
    model = hk.models.DHNN.from_preset("small_rnn_fashion_mnist",
                                       backbone_kwargs={"widths": [8, 16, 16]}, units=32,
                                       input_dim=32, rnn_layers=1)
    x, y = bundled["x_train"][:2000], bundled["y_train"][:2000]
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    xt, yt = bundled["x_test"][:1000], bundled["y_test"][:1000]
    res = hk.metrics.evaluate_model(model, (xt, yt)).iloc[0]
    # Measured 0.66 / 0.82 (chance: 0.1 / about 0.3).
    assert res["exact_match"] >= 0.55 and res["node_accuracy"] >= 0.7, res.to_dict()
    assert res["consistency"] == 1.0
    loaded = run_round_trips(model, tmp_path, xt[:50], formats=("config", "preset"),
                             metrics={"exact_match": res["exact_match"]})
    np.testing.assert_array_equal(loaded["preset"].predict_label_paths(xt[:50]),
                                  model.predict_label_paths(xt[:50]))
    assert loaded["config"].count_params() == model.count_params()
