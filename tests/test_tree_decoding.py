"""Greedy / constrained / beam decoding against exhaustive enumeration."""

import numpy as np
import pytest
from helpers import log_softmax
from keras import ops

from hier_keras.layers import beam_search, greedy_decode


def _random_step_fn(tree, batch, seed):
    """A step function whose logits depend on the sample, the step and the previous node."""
    rng = np.random.default_rng(seed)
    tables = [rng.normal(size=(batch, tree.num_nodes + 1, n)).astype("float32") * 2
              for n in tree.level_sizes]

    def step(t, prev, state):
        (rows,) = state
        logits = tables[t][np.asarray(rows), np.asarray(prev)]
        return ops.convert_to_tensor(logits), state

    return step, tables


def _exhaustive_best(tree, tables, b):
    """Best leaf path of sample b under per-step log-softmax over allowed children."""
    mask = tree.child_mask()
    offs = tree.node_offsets
    best, best_path = -np.inf, None
    for path in tree.leaf_paths():
        score, prev = 0.0, tree.num_nodes
        for t, idx in enumerate(path):
            if idx < 0:
                break
            allowed = mask[prev, offs[t]: offs[t] + tree.level_sizes[t]]
            logits = np.where(allowed, tables[t][b, prev], -1e9)
            score += log_softmax(logits)[idx]
            prev = offs[t] + idx
        if score > best:
            best, best_path = score, path
    return best_path, best


@pytest.mark.parametrize("tree_name", ["fashion", "variable"])
def test_beam_search_is_exact_when_wide(tree_name, fashion_tree, variable_tree):
    tree = fashion_tree if tree_name == "fashion" else variable_tree
    batch = 6
    step, tables = _random_step_fn(tree, batch, seed=1)
    state = (ops.convert_to_tensor(np.arange(batch)),)
    width = len(tree.leaf_paths())
    paths, probs, scores = beam_search(step, state, tree, batch, beam_width=width)
    for b in range(batch):
        want, score = _exhaustive_best(tree, tables, b)
        assert np.asarray(paths)[b].tolist() == want.tolist()
        assert np.asarray(scores)[b] == pytest.approx(score, abs=1e-4)
    assert tree.path_is_valid(np.asarray(paths)).all()


def test_beam_width_one_equals_constrained_greedy(fashion_tree):
    batch = 8
    step, _ = _random_step_fn(fashion_tree, batch, seed=2)
    state = (ops.convert_to_tensor(np.arange(batch)),)
    greedy, gprobs = greedy_decode(step, state, fashion_tree, batch, constrained=True)
    beam, bprobs, _ = beam_search(step, state, fashion_tree, batch, beam_width=1)
    np.testing.assert_array_equal(np.asarray(greedy), np.asarray(beam))
    for g, b in zip(gprobs, bprobs):
        np.testing.assert_allclose(np.asarray(g), np.asarray(b), atol=1e-6)


def test_greedy_modes_and_leaf_stop(variable_tree):
    tree = variable_tree
    batch = 16
    step, tables = _random_step_fn(tree, batch, seed=3)
    state = (ops.convert_to_tensor(np.arange(batch)),)
    paths, probs = greedy_decode(step, state, tree, batch, constrained=True)
    paths = np.asarray(paths)
    assert tree.path_is_valid(paths).all()
    # A path that reaches a leaf at level 1 stops there: -1 and an all-zero row after it.
    stopped = paths[:, 2] < 0
    assert (tree.is_leaf(1)[paths[stopped, 1]]).all()
    np.testing.assert_array_equal(np.asarray(probs[2])[stopped], 0.0)
    np.testing.assert_allclose(np.asarray(probs[0]).sum(-1), 1.0, rtol=1e-5)
    # Unconstrained greedy takes the level-wise argmax of the raw step logits.
    free, _ = greedy_decode(step, state, tree, batch, constrained=False)
    assert np.asarray(free)[:, 0].tolist() == tables[0][np.arange(batch), tree.num_nodes].argmax(-1).tolist()


def test_given_labels_force_steps(fashion_tree):
    batch = 4
    step, _ = _random_step_fn(fashion_tree, batch, seed=4)
    state = (ops.convert_to_tensor(np.arange(batch)),)
    given = np.array([[1, -1, -1], [0, 3, -1], [1, 5, 9], [-1, -1, -1]])
    for decode in ("greedy", "beam"):
        if decode == "greedy":
            paths, _ = greedy_decode(step, state, fashion_tree, batch, given=given)
        else:
            paths, _, _ = beam_search(step, state, fashion_tree, batch, 3, given=given)
        paths = np.asarray(paths)
        known = given >= 0
        np.testing.assert_array_equal(paths[known], given[known])
        assert fashion_tree.path_is_valid(paths).all()
