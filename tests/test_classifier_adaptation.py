"""ClassifierAdaptation (Dutt et al. 2017, Algorithm 1) against a loop transcription of the
paper's pseudo-code; tune_alpha / bake_alpha on any family's predictions."""

import keras
import numpy as np
import pytest

import hier_keras as hk
from hier_keras.layers.classifier_adaptation import (
    ClassifierAdaptation,
    adapt_probabilities,
)
from hier_keras.models.adaptation import bake_alpha
from hier_keras.training.adaptation import alpha_curve, tune_alpha

TINY = {"backbone_kwargs": {"widths": [4, 8, 8]}}
ALPHAS = [0.0, 0.3, 1.0, 1.7, 2.0]


def algorithm1(p_coarse, p_fine, fine_coarse, alpha):
    """Algorithm 1 of the paper, line by line, for one sample (the Q = 0 `else` gives each
    fine class j of coarse class i `adjusted_coarse[i] / #children(i)`)."""
    n_c = len(p_coarse)
    q = np.zeros(n_c)
    for j, i in enumerate(fine_coarse):
        q[i] += p_fine[j]
    adj_c, adj_f = np.zeros(n_c), np.zeros(len(p_fine))
    for i in range(n_c):
        target = (p_coarse[i] + q[i]) / 2
        adj_c[i] = (1 - alpha) * p_coarse[i] + alpha * target
        kids = [j for j, c in enumerate(fine_coarse) if c == i]
        if q[i] != 0:
            for j in kids:
                fine_target = p_fine[j] * target / q[i]
                adj_f[j] = (1 - alpha) * p_fine[j] + alpha * fine_target
        else:
            for j in kids:
                adj_f[j] = adj_c[i] / len(kids)
    return adj_c, adj_f


def _random_tree(rng, n_coarse=5, n_fine=13):
    parents = np.concatenate([np.arange(n_coarse), rng.integers(0, n_coarse, n_fine - n_coarse)])
    rng.shuffle(parents)
    return hk.Hierarchy([[f"c{i}" for i in range(n_coarse)], [f"f{j}" for j in range(n_fine)]],
                        [np.full(n_coarse, -1), parents])


def _random_probs(rng, tree, n=24, zero_groups=True):
    """Softmax-like rows; with `zero_groups`, every third row has one coarse class whose
    children all have probability exactly 0 (the Q = 0 branch)."""
    p_c = rng.dirichlet(np.ones(tree.level_sizes[0]), n).astype(np.float32)
    p_f = rng.dirichlet(np.ones(tree.level_sizes[1]), n)
    zeroed = np.zeros(n, bool)
    if zero_groups:
        for r in range(0, n, 3):
            i = rng.integers(0, tree.level_sizes[0])
            p_f[r, tree.parents[1] == i] = 0.0
            zeroed[r] = True
        p_f /= p_f.sum(-1, keepdims=True)
    return p_c, p_f.astype(np.float32), zeroed


def _layer_out(tree, p_c, p_f, alpha, **kw):
    out = ClassifierAdaptation(tree, alpha=alpha, **kw)({"coarse": p_c, "fine": p_f})
    return np.asarray(out["coarse"]), np.asarray(out["fine"])


@pytest.mark.parametrize("alpha", ALPHAS)
def test_matches_loop_transcription_including_q_zero(rng, alpha):
    tree = _random_tree(rng)
    p_c, p_f, zeroed = _random_probs(rng, tree)
    assert zeroed.any()
    got_c, got_f = _layer_out(tree, p_c, p_f, alpha)
    for r in range(len(p_c)):
        want_c, want_f = algorithm1(p_c[r].astype(float), p_f[r].astype(float), tree.parents[1], alpha)
        np.testing.assert_allclose(got_c[r], want_c, atol=2e-6)
        np.testing.assert_allclose(got_f[r], want_f, atol=2e-6)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_levels_sum_to_one(rng, alpha):
    tree = _random_tree(rng)
    p_c, p_f, _ = _random_probs(rng, tree, zero_groups=False)
    got_c, got_f = _layer_out(tree, p_c, p_f, alpha)
    np.testing.assert_allclose(got_c.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got_f.sum(-1), 1.0, atol=1e-5)
    # With Q = 0 groups the coarse level still sums to 1; the fine level, as written,
    # to 1 + (1 - alpha) * S0 (S0: coarse mass of the Q = 0 classes); 1 at alpha = 1.
    p_c, p_f, zeroed = _random_probs(rng, tree)
    got_c, got_f = _layer_out(tree, p_c, p_f, alpha)
    q = p_f @ tree.membership(0)
    s0 = np.where(q == 0, p_c, 0).sum(-1)
    assert (s0[zeroed] > 0).all()
    np.testing.assert_allclose(got_c.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got_f.sum(-1), 1 + (1 - alpha) * s0, atol=1e-5)


def test_alpha_zero_identity_one_consistent_two_from_fine(rng):
    tree = _random_tree(rng)
    p_c, p_f, _ = _random_probs(rng, tree, zero_groups=False)
    got_c, got_f = _layer_out(tree, p_c, p_f, 0.0)
    np.testing.assert_allclose(got_c, p_c, atol=1e-7)
    np.testing.assert_allclose(got_f, p_f, atol=1e-7)
    # alpha = 1: coarse == sum of children == (P_c + Q) / 2 (eq. 1 holds exactly).
    got_c, got_f = _layer_out(tree, p_c, p_f, 1.0)
    m = tree.membership(0)
    np.testing.assert_allclose(got_f @ m, got_c, atol=1e-6)
    np.testing.assert_allclose(got_c, (p_c + p_f @ m) / 2, atol=1e-6)
    # alpha = 2: coarse computed from the fine predictions only.
    got_c, _ = _layer_out(tree, p_c, p_f, 2.0)
    np.testing.assert_allclose(got_c, p_f @ m, atol=1e-6)
    # Q = 0 at alpha = 0 is *not* the identity as written: each child gets P_c[i] / n.
    p_c, p_f, zeroed = _random_probs(rng, tree)
    _, got_f = _layer_out(tree, p_c, p_f, 0.0)
    r = int(np.flatnonzero(zeroed)[0])
    i = int(np.flatnonzero((p_f[r] @ m) == 0)[0])
    kids = tree.parents[1] == i
    np.testing.assert_allclose(got_f[r, kids], p_c[r, i] / kids.sum(), atol=1e-7)


@pytest.mark.parametrize("order", ["coarse_to_fine", "fine_to_coarse"])
def test_deeper_tree_pair_by_pair_in_order(fashion_tree, rng, order):
    tree = fashion_tree
    probs = [rng.dirichlet(np.ones(s), 8).astype(np.float32) for s in tree.level_sizes]
    alphas = [1.3, 1.0, 0.7]
    out = ClassifierAdaptation(tree, alpha=alphas, order=order)(dict(zip(tree.level_names, probs)))
    pairs = [0, 1] if order == "coarse_to_fine" else [1, 0]
    for level, name in enumerate(tree.level_names):
        # Level `level`'s output: the whole chain of pairs run with alpha[level].
        want = [p.astype(float).copy() for p in probs]
        for l in pairs:
            for r in range(8):
                want[l][r], want[l + 1][r] = algorithm1(want[l][r], want[l + 1][r],
                                                        tree.parents[l + 1], alphas[level])
        np.testing.assert_allclose(np.asarray(out[name]), want[level], atol=2e-6)
        np.testing.assert_allclose(np.asarray(out[name]).sum(-1), 1.0, atol=1e-5)


def test_alpha_is_a_non_trainable_variable_set_after_training(fashion_tree, rng):
    layer = ClassifierAdaptation(fashion_tree, alpha=0.5)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1
    inputs = {n: keras.Input((s,), name=n) for n, s in zip(fashion_tree.level_names,
                                                          fashion_tree.level_sizes)}
    model = keras.Model(inputs, layer(inputs))
    probs = {n: rng.dirichlet(np.ones(s), 4).astype(np.float32)
             for n, s in zip(fashion_tree.level_names, fashion_tree.level_sizes)}
    before = model.predict(probs, verbose=0)
    layer.set_alpha([1.5, 1.0, 0.7])  # no rebuild, no retrace
    after = model.predict(probs, verbose=0)
    want = adapt_probabilities(probs, fashion_tree, [1.5, 1.0, 0.7])
    for n in fashion_tree.level_names:
        assert not np.allclose(before[n], after[n])
        np.testing.assert_allclose(after[n], want[n], atol=1e-6)
    config = layer.get_config()
    assert config["alpha"] == [1.5, 1.0, 0.7]
    clone = ClassifierAdaptation.from_config(config)
    np.testing.assert_allclose(np.asarray(clone(probs)["fine"]), want["fine"], atol=1e-6)


def test_errors(fashion_tree):
    with pytest.raises(ValueError, match="one value or one per level"):
        ClassifierAdaptation(fashion_tree, alpha=[1.0, 2.0])
    with pytest.raises(ValueError, match="Unknown adaptation order"):
        ClassifierAdaptation(fashion_tree, order="sideways")
    with pytest.raises(ValueError, match=r"missing \['medium'\]"):
        ClassifierAdaptation(fashion_tree)({"coarse": np.ones((1, 2)) / 2, "fine": np.ones((1, 10)) / 10})
    with pytest.raises(ValueError, match="at least two levels"):
        ClassifierAdaptation(hk.Hierarchy([["a", "b"]], [np.array([-1, -1])]))


# ------------------------------------------------------------------- alpha tuning
def test_alpha_curve_finds_the_helpful_alpha(rng):
    """Coarse predictions that are noisy, fine predictions that are right: adaptation helps
    the coarse level, and the curve's best coarse alpha is above 0."""
    tree = _random_tree(rng, 4, 12)
    n = 400
    fine = rng.integers(0, 12, n)
    y = np.stack([tree.parents[1][fine], fine], 1)
    p_f = rng.dirichlet(np.ones(12), n) * 0.5
    p_f[np.arange(n), fine] += 0.5
    p_c = rng.dirichlet(np.ones(4), n)  # uninformative coarse head
    search = alpha_curve({"coarse": p_c, "fine": p_f}, y, tree)
    assert list(search.curve["alpha"]) == pytest.approx(np.arange(0, 2.01, 0.1))
    assert search.curve["coarse_error"].iloc[0] > 0.5  # alpha 0: the noisy coarse head
    assert search.curve["coarse_error"].iloc[-1] == 0.0  # alpha 2: from the fine level
    assert search.best["coarse"] > 1.0
    assert search.errors_at(search.best["coarse"])["coarse_error"] == search.curve["coarse_error"].min()
    assert search.curve["consistency"].iloc[-1] > search.curve["consistency"].iloc[0]


def test_tune_and_bake_on_another_family(bundled, tmp_path):
    model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", **TINY)
    x, y = bundled["x_test"][:96].astype("float32"), bundled["y_test"][:96]
    search = tune_alpha(model, (x, y), alphas=[0.0, 0.5, 1.0])
    ds = hk.data.from_arrays(x, y, model.hierarchy, batch_size=32, shuffle=True, seed=1,
                             augment=False, preprocessing=model.preprocessing)
    from_ds = tune_alpha(model, ds, alphas=[0.0, 0.5, 1.0])
    np.testing.assert_allclose(search.curve.to_numpy(), from_ds.curve.to_numpy(), atol=1e-6)
    baked = bake_alpha(model, search.best, order=search.order)
    assert type(baked).__name__ == "Ensemble"
    want = adapt_probabilities(model.predict(x, verbose=0), model.hierarchy,
                               [search.best[n] for n in model.level_names])
    got = baked.predict(x, verbose=0)
    for n in model.level_names:
        np.testing.assert_allclose(got[n], want[n], atol=1e-5)
    baked.save_to_preset(tmp_path / "p")
    loaded = hk.models.load_preset(tmp_path / "p")
    assert loaded.adaptation_alpha == baked.adaptation_alpha
    np.testing.assert_allclose(loaded.predict(x, verbose=0)["fine"], got["fine"], atol=1e-5)
    with pytest.raises(ValueError, match="already applies classifier adaptation"):
        tune_alpha(baked, (x, y))
    single = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist", head="single",
                                                   level="coarse", **TINY)
    with pytest.raises(ValueError, match=r"lack the levels \['medium', 'fine'\]"):
        tune_alpha(single, (x, y))
    with pytest.raises(ValueError, match="does not predict the levels"):
        bake_alpha(single, 1.0)
