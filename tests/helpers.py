"""Shared test helpers, in the spirit of KerasHub's `TestCase`.

Every family test goes through the same two checks instead of pasting them:

- `run_family_contract(model, ...)`: the output contract of a hier_keras model
  (`{level_name: (batch, n_level) probabilities}` in level order, rows summing
  to 1, or to 0 once the path has ended) and one training step (finite loss, weights move,
  the per-level metrics reported);
- `run_round_trips(model, tmp_path, x, formats=...)`: config JSON, `.keras`,
  preset directory and TF SavedModel, each giving the same predictions.

`fit_on_bundled` is the short real training of the accuracy tests. Plus the
small helpers the tests share: `random_images`, `random_leaf_paths`,
the NumPy reference `log_softmax`, `assert_same_outputs` for dicts of
per-level arrays, and `is_conv_kernel` (a `must_change` predicate).

Import from a test file as `from helpers import run_round_trips` (pytest puts
`tests/` on `sys.path`: the folder has no `__init__.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

#: Every format `run_round_trips` knows, in the order it checks them.
ROUND_TRIP_FORMATS = ("config", "keras", "preset", "saved_model")
#: Largest |original - reloaded| probability difference accepted (float32 on the CPU).
ATOL = 1e-5


# ------------------------------------------------------------------ data
def random_images(shape, n=3, seed=0):
    """`n` float32 images with raw pixel values uniform in [0, 255).

    Args:
        shape: an image shape `(height, width, channels)`, or a model (its
            `image_shape` is used).
        n: batch size.
        seed: NumPy seed.
    """
    shape = tuple(getattr(shape, "image_shape", shape))
    return np.random.default_rng(seed).uniform(0, 255, (n,) + shape).astype("float32")


def random_leaf_paths(tree, n=3, seed=0):
    """`n` int label rows, each a root-to-leaf path of `tree` drawn at random.

    Args:
        tree: a `Hierarchy`, or a model (its `hierarchy` is used).
        n: number of rows.
        seed: NumPy seed.
    """
    tree = getattr(tree, "hierarchy", tree)
    leaves = tree.leaf_paths()
    return leaves[np.random.default_rng(seed).integers(0, len(leaves), n)]


def log_softmax(x, axis=-1):
    """NumPy log-softmax (max-shifted): the reference of the loss and decoder checks."""
    x = np.asarray(x)
    x = x - x.max(axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis, keepdims=True))


def assert_same_outputs(got, want, atol=ATOL, what="outputs"):
    """Assert two `{level: array}` dicts have the same keys and values within `atol`."""
    got = {k: np.asarray(v) for k, v in got.items()}
    assert sorted(got) == sorted(want), f"{what}: levels {sorted(got)} != {sorted(want)}"
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=atol, err_msg=f"{what}: level {k!r}")


# ------------------------------------------------------------------ short real training
def fit_on_bundled(model, bundled, n, epochs=2, batch_size=64):
    """Train `model` briefly on the bundled Fashion-MNIST subset; its test-split metrics.

    The first `n` training images, shuffled and augmented with the model's own
    preprocessing, `hk.training.fit_model` (the preset's schedule) for `epochs`;
    then `hk.metrics.evaluate_model` on the whole bundled test split.

    Args:
        model: a hier_keras model (seed it before building it for repeatable runs).
        bundled: the `bundled` fixture (`hk.data.load_arrays("fashion_mnist", source="bundled")`).
        n: number of training images.
        epochs: training epochs.
        batch_size: batch size.

    Returns:
        The metrics row (a pandas Series: `fine_accuracy`, `consistency`, ...).
    """
    import hier_keras as hk

    train = hk.data.from_arrays(bundled["x_train"][:n], bundled["y_train"][:n], model.hierarchy,
                                batch_size=batch_size, shuffle=True, augment=True,
                                preprocessing=model.preprocessing)
    hk.training.fit_model(model, train, epochs=epochs, verbose=0)
    return hk.metrics.evaluate_model(model, (bundled["x_test"], bundled["y_test"])).iloc[0]


# ------------------------------------------------------------------ family contract
def is_conv_kernel(weight):
    """A `must_change` predicate for `run_family_contract`: a 4-D (convolution) kernel."""
    return len(weight.shape) == 4


def run_family_contract(model, x=None, y=None, train=True, must_change=None):
    """Check the output contract of a hier_keras model, then one training step.

    Outputs: `model.predict(x)` is a dict keyed by the model's output levels in
    level order (coarsest first); level `l` has shape `(batch, n_l)` and finite
    values in [0, 1]; every row of the first level sums to 1 and every later row
    to 1, or to 0 once the path has ended (after a leaf, or after an explicit
    end token): a zero row is followed by zero rows only.

    Training (`train=True`): `compile(total_steps=1)` and one `fit` epoch of
    one batch give a finite loss, report `<finest level>_accuracy`, and change
    the weights: some trainable weight when `must_change` is `None`, else every
    trainable weight for which `must_change(weight)` is true (at least one).

    Args:
        model: a built hier_keras model.
        x: images; defaults to `random_images(model)`.
        y: label rows for the training step; defaults to `random_leaf_paths`.
        train: also run the training step.
        must_change: optional predicate on trainable weights (see above).

    Returns:
        The predictions on `x` after the training step (before it when
        `train=False`): a `{level: array}` dict.
    """
    x = random_images(model) if x is None else x
    out = model.predict(x, verbose=0)
    levels = [n for n in model.level_names if n in model.output_levels]
    assert list(out) == levels
    ended = np.zeros(len(x), bool)
    for rank, level in enumerate(levels):
        probs = out[level]
        assert probs.shape == (len(x), model.hierarchy.level_sizes[model.level_names.index(level)])
        assert np.all(np.isfinite(probs)) and probs.min() >= 0 and probs.max() <= 1 + 1e-6, level
        sums = probs.sum(-1)
        zero, one = np.abs(sums) < 1e-6, np.abs(sums - 1) < 1e-4
        assert np.all(one | zero), (level, sums)
        assert rank > 0 or one.all(), (level, "rows of the first level must sum to 1", sums)
        assert np.all(zero[ended]), (level, "rows after the path ended must be 0", sums)
        ended |= zero
    if not train:
        return out
    y = random_leaf_paths(model, len(x)) if y is None else y
    model.compile(total_steps=1)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0).history
    assert np.isfinite(history["loss"][0]), history
    assert f"{model.output_levels[-1]}_accuracy" in history, sorted(history)
    moved = [(w, not np.allclose(b, w.numpy())) for b, w in zip(before, model.trainable_weights)]
    if must_change is None:
        assert any(m for _, m in moved), "no trainable weight changed in one training step"
    else:
        checked = [(w, m) for w, m in moved if must_change(w)]
        assert checked, "`must_change` matches no trainable weight"
        assert all(m for _, m in checked), [w.path for w, m in checked if not m]
    return outputs_of(model, x)


def outputs_of(model, x):
    """`model(x)` (inference, eager) as a `{level: NumPy array}` dict.

    Cheaper than `predict` (nothing to trace) for the tiny models of the tests.
    """
    return {k: np.asarray(v) for k, v in model(np.asarray(x, np.float32), training=False).items()}


# ------------------------------------------------------------------ round trips
def run_round_trips(model, tmp_path, x, formats=ROUND_TRIP_FORMATS, want=None, atol=ATOL,
                    metrics=None):
    """Round-trip `model` through each of `formats`; each must predict what it does.

    - `"config"`: `get_config()` through JSON text into `from_config` gives the
      same config; the clone, given the model's weights, the same predictions
      (so the config rebuilds the same architecture, weight for weight);
    - `"keras"`: `model.save(.keras)` / `keras.saving.load_model`, same config;
    - `"preset"`: `save_to_preset(dir, metrics=...)` / `from_preset(dir)`, same
      config, and the metrics stored in `metadata.json`;
    - `"saved_model"`: `model.export()` loaded with `tf.saved_model.load`, its
      `serve` endpoint on float32 images.

    Args:
        model: a built hier_keras model.
        tmp_path: a fresh folder (pytest's `tmp_path`).
        x: images to predict on.
        formats: a subset of `ROUND_TRIP_FORMATS`.
        want: the expected predictions; defaults to `outputs_of(model, x)`.
        atol: largest accepted probability difference.
        metrics: metrics for `save_to_preset`; defaults to
            `{"<finest level>_accuracy": 0.5}`.

    Returns:
        `{format: reloaded object}` (the clone, the loaded models, the loaded
        SavedModel), for format-specific checks by the caller.
    """
    unknown = set(formats) - set(ROUND_TRIP_FORMATS)
    assert not unknown, f"unknown round-trip formats {sorted(unknown)}"
    tmp_path = Path(tmp_path)
    family = type(model)
    config = model.get_config()
    want = outputs_of(model, x) if want is None else want
    loaded = {}
    if "config" in formats:
        clone = family.from_config(json.loads(json.dumps(config)))
        assert clone.get_config() == config
        clone.set_weights(model.get_weights())
        assert_same_outputs(outputs_of(clone, x), want, atol, "from_config")
        loaded["config"] = clone
    if "keras" in formats:
        path = tmp_path / "model.keras"
        model.save(str(path))
        again = keras.saving.load_model(str(path))
        assert type(again) is family and again.get_config() == config
        assert_same_outputs(outputs_of(again, x), want, atol, ".keras")
        loaded["keras"] = again
    if "preset" in formats:
        directory = tmp_path / "preset"
        metrics = {f"{model.output_levels[-1]}_accuracy": 0.5} if metrics is None else metrics
        model.save_to_preset(directory, metrics=metrics, dataset="random")
        again = family.from_preset(str(directory))
        assert type(again) is family and again.get_config() == config
        assert_same_outputs(outputs_of(again, x), want, atol, "preset directory")
        meta = json.loads((directory / "metadata.json").read_text())
        assert meta["metrics"] == {k: float(v) for k, v in metrics.items()}
        loaded["preset"] = again
    if "saved_model" in formats:
        import tensorflow as tf

        directory = str(tmp_path / "saved_model")
        model.export(directory)
        served = tf.saved_model.load(directory)  # keep a reference: it owns the variables
        out = served.serve(tf.constant(np.asarray(x, np.float32)))
        assert_same_outputs(out, want, atol, "SavedModel")
        loaded["saved_model"] = served
    return loaded
