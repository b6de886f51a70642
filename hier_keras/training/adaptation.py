"""Tune the classifier-adaptation alpha on validation data.

Dutt et al. 2017, Sec. 3.3: "The interpolation factor, alpha, can be tuned
using a validation set"; Fig. 3/4 plot the top-1 error of each level against
alpha in [0, 2]. `tune_alpha` predicts the validation set once with any
hier_keras model (any family: only the `{level_name: probabilities}` output
is used), sweeps alpha with `adapt_probabilities` (Algorithm 1), and returns
the error curve and the best alpha per level. To put the chosen alpha into a
model, `hier_keras.models.adaptation.bake_alpha(model, search.best,
order=search.order)` (a model layer: this module does not import the models).

Example:

>>> import hier_keras as hk, numpy as np
>>> model = hk.models.HierarchicalCNN.from_preset("small_fashion_mnist",
...                                               backbone_kwargs={"widths": [4, 8, 8]})
>>> d = hk.data.load_arrays("fashion_mnist", source="bundled")
>>> search = tune_alpha(model, (d["x_test"][:64], d["y_test"][:64]), alphas=[0.0, 1.0, 2.0])
>>> list(search.curve.columns)[:4]
['alpha', 'coarse_error', 'medium_error', 'fine_error']
>>> sorted(search.best)
['coarse', 'fine', 'medium']
>>> search.order
'coarse_to_fine'
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hier_keras.hierarchy import Hierarchy
from hier_keras.layers.classifier_adaptation import ORDERS, adapt_probabilities
from hier_keras.outputs import public_outputs

DEFAULT_ALPHAS = np.round(np.arange(0.0, 2.01, 0.1), 2)


@dataclasses.dataclass
class AlphaSearch:
    """Result of `tune_alpha`.

    Attributes:
        curve: DataFrame, one row per alpha: `alpha`, `<level>_error` (top-1
            error of each level's argmax, labelled samples only),
            `exact_match_error` (any level wrong) and `consistency` (share of
            samples whose per-level argmaxes form a path of the tree).
        best: `{level_name: alpha}` with the lowest error of that level (ties:
            the alpha nearest 1, the paper's expected optimum).
        best_shared: the one alpha with the lowest mean error over levels.
        order: the pair order used for deeper trees.

    Bake the result into a model with `hier_keras.models.adaptation.bake_alpha(
    model, search.best, order=search.order)` (or `search.best_shared`).
    """

    curve: "object"
    best: dict
    best_shared: float
    order: str

    def errors_at(self, alpha) -> dict:
        """`{column: value}` of the curve row nearest to `alpha`."""
        row = self.curve.iloc[int(np.argmin(np.abs(self.curve["alpha"].to_numpy() - alpha)))]
        return row.to_dict()


def collect_predictions(model, validation_data, batch_size=256):
    """`(probs, labels)`: one pass of `model.predict` over arrays or a tf.data dataset.

    Args:
        model: any model whose `predict` returns `{level_name: probabilities}`.
        validation_data: `(images, labels)` arrays or a dataset of
            `(images, labels, ...)` batches (iterated once, so a shuffled
            dataset stays aligned).
        batch_size: prediction batch size for arrays.
    """
    if isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
        x, y = np.asarray(validation_data[0], np.float32), np.asarray(validation_data[1])
        probs = model.predict(x, batch_size=batch_size, verbose=0)
        probs = {k: np.asarray(v) for k, v in public_outputs(probs).items()}
        return probs, y
    chunks, labels = [], []
    for batch in validation_data:
        out = model.predict_on_batch(np.asarray(batch[0], np.float32))
        chunks.append({k: np.asarray(v) for k, v in public_outputs(out).items()})
        labels.append(np.asarray(batch[1]))
    if not chunks:
        raise ValueError("`validation_data` is empty; nothing to tune alpha on.")
    probs = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    return probs, np.concatenate(labels)


def alpha_curve(probs, labels, hierarchy, alphas=DEFAULT_ALPHAS, order="coarse_to_fine"):
    """Error per level for each alpha (Dutt et al. Fig. 3), from precomputed probabilities.

    Args:
        probs: `{level_name: (N, n_level)}` probabilities of every level.
        labels: int `(N, depth)` label paths (-1 unknown; such entries are not
            counted), or `(N,)` finest-level ids.
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
        alphas: the alphas to evaluate.
        order: pair order for deeper trees.

    Returns:
        An `AlphaSearch`.

    Example:

    >>> import numpy as np
    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> probs = {"coarse": np.array([[0.4, 0.6]]), "fine": np.array([[0.5, 0.4, 0.1]])}
    >>> s = alpha_curve(probs, np.array([[0, 0]]), tree, alphas=[0.0, 1.0, 2.0])
    >>> s.curve["coarse_error"].tolist(), s.best["coarse"]
    ([1.0, 0.0, 0.0], 1.0)
    """
    import pandas as pd

    tree = Hierarchy.coerce(hierarchy)
    if order not in ORDERS:
        raise ValueError(f"Unknown adaptation order {order!r}; use one of {ORDERS}.")
    y = np.asarray(labels)
    if y.ndim == 1:
        y = tree.complete(y)
    if y.ndim != 2 or y.shape[1] != tree.depth:
        raise ValueError(f"`labels` must be (N, {tree.depth}) label paths; received {y.shape}.")
    names = tree.level_names
    missing = [n for n in names if n not in probs]
    if missing:
        raise ValueError(
            f"The predictions lack the levels {missing}; alpha tuning needs the "
            f"probabilities of every level {names} (a single-level model cannot be adapted)."
        )
    alphas = [float(a) for a in np.atleast_1d(alphas)]
    if not alphas:
        raise ValueError("`alphas` is empty.")
    rows = []
    for a in alphas:
        adapted = adapt_probabilities(probs, tree, a, order)
        pred = np.stack([np.argmax(adapted[n], axis=-1) for n in names], axis=1)
        row = {"alpha": round(a, 6)}
        wrong_any = np.zeros(len(y), bool)
        for l, n in enumerate(names):
            known = y[:, l] >= 0
            wrong = known & (pred[:, l] != y[:, l])
            row[f"{n}_error"] = float(wrong.sum() / max(known.sum(), 1))
            wrong_any |= wrong
        row["exact_match_error"] = float(wrong_any.mean())
        consistent = np.ones(len(y), bool)
        for l in range(1, tree.depth):
            consistent &= tree.parents[l][pred[:, l]] == pred[:, l - 1]
        row["consistency"] = float(consistent.mean())
        rows.append(row)
    curve = pd.DataFrame(rows)
    a = curve["alpha"].to_numpy()

    def best_of(errors):
        errors = np.asarray(errors)
        ties = np.flatnonzero(errors <= errors.min() + 1e-12)
        return float(a[ties[np.argmin(np.abs(a[ties] - 1.0))]])

    best = {n: best_of(curve[f"{n}_error"]) for n in names}
    shared = best_of(curve[[f"{n}_error" for n in names]].mean(axis=1))
    return AlphaSearch(curve=curve, best=best, best_shared=shared, order=order)


def tune_alpha(model, validation_data, alphas=DEFAULT_ALPHAS, order="coarse_to_fine",
               batch_size=256, hierarchy=None):
    """Sweep the classifier-adaptation alpha on validation data (Dutt et al. 2017, Sec. 3.3).

    Works with any family: the model is only asked for `predict()` (its own
    adaptation, if any, should be off: tune on raw probabilities).

    Args:
        model: a hier_keras model (or any model whose `predict` returns
            `{level_name: probabilities}` for every level).
        validation_data: `(images, labels)` arrays or a tf.data dataset of
            `(images, labels)` batches.
        alphas: alphas to try. Defaults to 0, 0.1, ..., 2.0 (Fig. 3).
        order: pair order for deeper trees.
        batch_size: prediction batch size.
        hierarchy: defaults to `model.hierarchy`.

    Returns:
        An `AlphaSearch`: `.curve` (error vs alpha per level), `.best`
        (alpha per level), `.best_shared`, `.order`.
    """
    if getattr(model, "adaptation_alpha", None) is not None:
        raise ValueError(
            "The model already applies classifier adaptation (alpha "
            f"{model.adaptation_alpha}); call `model.set_adaptation_alpha(None)` before tuning."
        )
    probs, y = collect_predictions(model, validation_data, batch_size)
    tree = Hierarchy.coerce(hierarchy if hierarchy is not None else model.hierarchy)
    return alpha_curve(probs, y, tree, alphas=alphas, order=order)
