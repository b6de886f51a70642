"""`evaluate` / `evaluate_model`: every hierarchical metric of a model in one DataFrame row.

`evaluate` scores per-level probabilities (or given paths) against labels with
the functions of `hier_keras.metrics.path_metrics`; `evaluate_model` predicts
a dataset first, using the model's own path decoder (`predict_label_paths`)
when it has one.

Example:

>>> import numpy as np
>>> from hier_keras import Hierarchy
>>> tree = Hierarchy.fashion_mnist()
>>> y = tree.complete(np.array([0, 9]))
>>> row = evaluate(y, None, tree, paths=np.array([[0, 0, 0], [1, 5, 7]])).iloc[0]
>>> float(row["coarse_accuracy"]), float(row["exact_match"])
(1.0, 0.5)
"""

from __future__ import annotations

import inspect

import numpy as np

from hier_keras.hierarchy import Hierarchy
from hier_keras.metrics.path_metrics import (
    _labels,
    _paths,
    consistency,
    exact_match,
    hierarchical_prf,
    level_accuracy,
    mistake_severity,
    node_accuracy,
    top_k_accuracy,
)
from hier_keras.outputs import level_list, public_outputs
from hier_keras.paths import argmax_paths


def evaluate(y_true, predictions, hierarchy, paths=None, top_k=(5,)):
    """Every hierarchical metric in a one-row pandas DataFrame.

    Args:
        y_true: int `(N, depth)` labels (or `(N,)` finest-level ids, completed
            with the hierarchy).
        predictions: the model's output dict `{level_name: (N, n) probs}` (or
            a list, coarsest first). May be `None` when `paths` is given
            (then no top-k columns).
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
        paths: optional int `(N, depth)` predicted paths overriding the
            per-level argmax (e.g. a tree decoder's paths).
        top_k: ks of the `top<k>_<finest>_accuracy` columns, each added when
            the finest level has more than `k` classes.

    Returns:
        DataFrame with one row and one column per metric:
        `<level_name>_accuracy` for every level, `exact_match`,
        `node_accuracy`, `consistency`, `hP`, `hR`, `hF1`,
        `mistake_severity` (mean LCA height in levels), and `top<k>_<finest>_accuracy`.
        Accuracies are fractions in [0, 1]; NaN where nothing can be
        measured (e.g. no mistakes for `mistake_severity`).

    Example:

    >>> import numpy as np
    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.fashion_mnist()
    >>> y = tree.complete(np.array([0, 9]))
    >>> probs = {n: np.eye(s)[y[:, l]] for l, (n, s) in
    ...          enumerate(zip(tree.level_names, tree.level_sizes))}
    >>> float(evaluate(y, probs, tree)["exact_match"].iloc[0])
    1.0
    """
    import pandas as pd

    hierarchy = Hierarchy.coerce(hierarchy)
    y = _labels(y_true, hierarchy)
    if paths is None:
        if predictions is None:
            raise ValueError("Give `predictions` (per-level probabilities) or `paths`.")
        paths = argmax_paths(predictions, hierarchy)
    p = _paths(paths, y)
    row = {}
    for level, name in enumerate(hierarchy.level_names):
        row[f"{name}_accuracy"] = level_accuracy(y, p, level)
    row["exact_match"] = exact_match(y, p)
    row["node_accuracy"] = node_accuracy(y, p)
    row["consistency"] = consistency(p, hierarchy)
    row["hP"], row["hR"], row["hF1"] = hierarchical_prf(y, p, hierarchy)
    row["mistake_severity"] = mistake_severity(y, p, hierarchy)
    fine = hierarchy.depth - 1
    fine_name = hierarchy.level_names[fine]
    if predictions is not None:
        per_level = level_list(predictions, hierarchy.level_names)
        if fine in per_level:
            for k in (top_k if isinstance(top_k, (list, tuple)) else [top_k]) if top_k else []:
                if hierarchy.level_sizes[fine] > int(k):
                    row[f"top{int(k)}_{fine_name}_accuracy"] = top_k_accuracy(
                        y[:, fine], per_level[fine], int(k))
    return pd.DataFrame([row])


def evaluate_model(model, dataset, hierarchy=None, batch_size=256, top_k=(5,)):
    """Predict a dataset with a model and `evaluate` it.

    Args:
        model: a hier_keras model (or any Keras model whose `predict` returns
            `{level_name: probs}`).
        dataset: a `tf.data.Dataset` of `(images, labels)` batches (extra
            elements such as sample weights are ignored), or an
            `(images, labels)` pair of arrays.
        hierarchy: defaults to `model.hierarchy`.
        batch_size: prediction batch size.
        top_k: passed to `evaluate`.

    Paths hook: when the model has `predict_label_paths(images, ...)` (every
    hier_keras model does; decoders override it), its paths are evaluated
    (it is given `probs=` and `batch_size=` when its signature takes them);
    otherwise the per-level argmax of `predict` (`hier_keras.paths.argmax_paths`).

    Returns:
        The one-row DataFrame of `evaluate`.
    """
    hierarchy = Hierarchy.coerce(hierarchy if hierarchy is not None else model.hierarchy)
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        x, y = np.asarray(dataset[0]), np.asarray(dataset[1])
    else:
        xs, ys = [], []
        for batch in dataset:
            xs.append(np.asarray(batch[0]))
            ys.append(np.asarray(batch[1]))
        if not xs:
            raise ValueError("`dataset` is empty; nothing to evaluate.")
        x, y = np.concatenate(xs), np.concatenate(ys)
    x = x.astype(np.float32, copy=False)
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    if isinstance(probs, dict):
        probs = {k: np.asarray(v) for k, v in public_outputs(probs).items()}
    paths = None
    if hasattr(model, "predict_label_paths"):
        fn = model.predict_label_paths
        params = inspect.signature(fn).parameters
        kwargs = {}
        if "probs" in params:
            kwargs["probs"] = probs
        if "batch_size" in params:
            kwargs["batch_size"] = batch_size
        paths = np.asarray(fn(x, **kwargs))
    result = evaluate(y, probs, hierarchy, paths=paths, top_k=top_k)
    predicted = getattr(model, "output_levels", hierarchy.level_names)
    missing = [n for n in hierarchy.level_names if n not in predicted]
    if missing:
        # A single-level model predicts no finer level: path metrics are undefined.
        cols = [f"{n}_accuracy" for n in missing] + [
            c for c in ("exact_match", "node_accuracy", "hP", "hR", "hF1", "mistake_severity")
            if c in result.columns] + [c for c in result.columns
                                       if c.startswith("top") and any(c.endswith(f"_{n}_accuracy") for n in missing)]
        result.loc[:, cols] = np.nan
    return result
