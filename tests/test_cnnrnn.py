"""CNN-RNN (Guo et al. 2018): teacher forcing, eq. 8 loss, decoding modes, CNN-RNN*, variable depth."""

import numpy as np
import pytest
from helpers import log_softmax
from keras import ops

from hier_keras.models import CNNRNN, HierarchicalModel

TINY = HierarchicalModel.tiny_overrides


def _model(tree=None, **kw):
    kw = {**TINY, **kw}
    if tree is not None:
        kw["hierarchy"] = tree
    return CNNRNN.from_preset("small_fashion_mnist", **kw)


def test_eq8_loss_with_teacher_forcing(fashion_tree, rng):
    model = _model()
    x = rng.uniform(0, 255, (4, 28, 28, 1)).astype("float32")
    y = np.array([[0, 0, 6], [1, 5, 9], [0, 3, -1], [1, -1, -1]], "int32")
    v = model._features(x, False)
    logits = [np.asarray(l) for l in model.teacher_forced_logits(v, ops.convert_to_tensor(y), training=False)]
    # Eq. 8: cross-entropy over the whole C+F(+...) vocabulary at every step, masked where
    # the label is -1; the package averages each step over its labelled samples, then sums.
    offs = fashion_tree.node_offsets
    want = 0.0
    for t in range(3):
        known = y[:, t] >= 0
        ce = -log_softmax(logits[t])[np.arange(4), np.where(known, y[:, t] + offs[t], 0)]
        want += ce[known].mean()
    got = float(model.hierarchical_loss(ops.convert_to_tensor(y), {"_features": v}))
    assert got == pytest.approx(want, rel=1e-5)
    # The input of step t is the label of step t-1: changing the coarse label changes the
    # later steps' logits but not the first step's.
    y2 = y.copy()
    y2[0, 0] = 1
    logits2 = [np.asarray(l) for l in model.teacher_forced_logits(v, ops.convert_to_tensor(y2), training=False)]
    np.testing.assert_allclose(logits[0], logits2[0], atol=1e-6)
    assert not np.allclose(logits[1][0], logits2[1][0])
    np.testing.assert_allclose(logits[1][1:], logits2[1][1:], atol=1e-6)


def test_evaluate_reports_the_teacher_forced_loss(fashion_tree, rng):
    """val_loss is eq. 8 on the evaluation images (dropout off), comparable to the training loss.

    Not the cross-entropy of the decoded levels: a constrained decoder gives the true fine
    class probability 0 under a wrong parent, which made val_loss ~4x the training loss.
    """
    model = _model(decoding="constrained", dropout=0.5)
    x = rng.uniform(0, 255, (16, 28, 28, 1)).astype("float32")
    y = fashion_tree.leaf_paths()[rng.integers(0, 10, 16)].astype("int32")
    logits = [np.asarray(l) for l in model.teacher_forced_logits(
        model._features(x, False), ops.convert_to_tensor(y), training=False)]
    offs = fashion_tree.node_offsets
    want = sum(-log_softmax(logits[t])[np.arange(16), y[:, t] + offs[t]].mean() for t in range(3))
    want += sum(float(l) for l in model.losses)
    model.compile()
    got = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)["loss"]
    assert got == pytest.approx(want, rel=1e-4)
    # The decoded fine probabilities are 0 outside the decoded medium class's children.
    probs = model.predict(x, verbose=0)["fine"]
    assert (probs == 0).any()


def test_decoding_modes_and_given_labels(fashion_tree, rng):
    x = rng.uniform(0, 255, (6, 28, 28, 1)).astype("float32")
    model = _model()
    constrained = model.predict_label_paths(x, decoding="constrained")
    beam = model.predict_label_paths(x, decoding="beam")
    greedy = model.predict_label_paths(x, decoding="greedy")
    assert fashion_tree.path_is_valid(constrained).all()
    assert fashion_tree.path_is_valid(beam).all()
    assert greedy.shape == (6, 3)
    # CNN-RNN*: the coarse label is given; only the finer levels are predicted.
    given = np.array([[1, -1, -1]] * 3 + [[0, 0, -1]] * 3)
    paths = model.predict_label_paths(x, given=given)
    np.testing.assert_array_equal(paths[:3, 0], 1)
    np.testing.assert_array_equal(paths[3:, :2], [[0, 0]] * 3)
    assert fashion_tree.path_is_valid(paths).all()
    with pytest.raises(ValueError, match="Inconsistent"):
        model.predict_label_paths(x[:1], given=[[1, 0, -1]])
    with pytest.raises(ValueError, match="Unknown decoding"):
        _model(decoding="sampling")


def test_variable_depth_tree_learns_and_stops_at_leaves(variable_tree, rng):
    """Synthetic images whose mean brightness encodes the leaf; paths of length 2 and 3."""
    import keras

    keras.utils.set_random_seed(0)
    tree = variable_tree
    leaves = tree.leaf_paths()
    n = 320
    which = rng.integers(0, len(leaves), n)
    x = (which[:, None, None, None] * 50 + rng.normal(0, 8, (n, 28, 28, 1))).clip(0, 255)
    y = leaves[which]
    model = _model(tree, backbone_kwargs={"widths": [8, 8, 8]}, units=32, embedding_dim=16)
    model.compile(total_steps=8 * 10)
    model.fit(x.astype("float32"), y, batch_size=32, epochs=8, verbose=0)
    paths = model.predict_label_paths(x.astype("float32"))
    assert tree.path_is_valid(paths).all()
    lengths = (paths >= 0).sum(1)
    assert set(lengths.tolist()) == {2, 3}
    assert np.mean((paths == y).all(1)) > 0.8
    out = model.predict(x[:4].astype("float32"), verbose=0)
    ended = paths[:4, 2] < 0
    np.testing.assert_array_equal(out["fine"][ended], 0.0)
