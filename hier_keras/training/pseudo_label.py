"""Training with coarse-only data by pseudo-labelling (Guo et al. 2018, Sec. 4.2).

1. Train a model on S_fine (full label paths).
2. Predict the finer labels of S_coarse with the known coarse labels given
   to the model (`model.predict_label_paths(x, given=labels)`: the CNN-RNN
   feeds them as its first steps; per-level models pick the most probable
   child of the known label).
3. Train a fresh model on S_fine + the pseudo-labelled S_coarse^-.

Works for every family, since all of them implement `predict_label_paths`
with `given`.
"""

from __future__ import annotations

import numpy as np

from hier_keras.training.fit import fit_model


def pseudo_label_fit(build_model, x_fine, y_fine, x_coarse, y_coarse, epochs, batch_size=128,
                     retrain_epochs=None, validation_data=None, augment=True, seed=0,
                     verbose=0, y_coarse_true=None):
    """Train on S_fine, pseudo-label S_coarse, retrain on both.

    Args:
        build_model: callable returning a fresh, uncompiled hier_keras model.
        x_fine, y_fine: images and full label paths of S_fine.
        x_coarse, y_coarse: images and labels of S_coarse (finer levels -1).
        epochs: epochs of the first training; `retrain_epochs` (default the
            same) of the second.
        batch_size, augment, seed: data pipeline settings.
        validation_data: optional tf.data passed to both fits.
        y_coarse_true: optional true full paths of S_coarse, to report the
            pseudo-labels' accuracy.

    Returns:
        dict with `first_model`, `model` (retrained), `pseudo_labels`, and
        `pseudo_label_accuracy` (finest level, when `y_coarse_true` is given).

    Example:

    >>> import hier_keras as hk, numpy as np
    >>> d = hk.data.load_arrays("fashion_mnist", source="bundled")
    >>> x, y = d["x_train"][:256], d["y_train"][:256]
    >>> yc = y.copy(); yc[:, 1:] = -1
    >>> out = pseudo_label_fit(lambda: hk.models.HierarchicalCNN.from_preset(
    ...     "small_fashion_mnist"), x[:128], y[:128], x[128:], yc[128:], epochs=1)
    >>> out["pseudo_labels"].shape
    (128, 3)
    """
    from hier_keras.data import from_arrays

    first = build_model()
    tree = first.hierarchy
    y_fine = tree.validate_labels(y_fine)
    y_coarse = tree.validate_labels(y_coarse)
    pre = first.preprocessing
    ds = from_arrays(x_fine, y_fine, tree, batch_size=batch_size, shuffle=True, augment=augment,
                     seed=seed, preprocessing=pre)
    fit_model(first, ds, epochs=epochs, validation_data=validation_data, verbose=verbose)
    images = first.check_images(_shape_like(x_coarse, pre))
    pseudo = first.predict_label_paths(images, given=y_coarse)
    model = build_model()
    x_all = np.concatenate([np.asarray(x_fine), np.asarray(x_coarse)])
    y_all = np.concatenate([y_fine, pseudo])
    ds = from_arrays(x_all, y_all, tree, batch_size=batch_size, shuffle=True, augment=augment,
                     seed=seed + 1, preprocessing=pre)
    fit_model(model, ds, epochs=retrain_epochs or epochs, validation_data=validation_data,
              verbose=verbose)
    out = {"first_model": first, "model": model, "pseudo_labels": pseudo}
    if y_coarse_true is not None:
        truth = np.asarray(y_coarse_true)[:, -1]
        out["pseudo_label_accuracy"] = float(np.mean(pseudo[:, -1] == truth))
    return out


def _shape_like(images, preprocessing):
    from hier_keras.data import fit_to_shape

    return fit_to_shape(images, preprocessing["input_shape"])
