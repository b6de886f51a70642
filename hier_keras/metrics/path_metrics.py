"""Hierarchical metrics of label paths (NumPy): accuracies, hP/hR/hF1, mistake severity.

A path is an int row `(depth,)`, coarsest first; a negative entry in the
labels is unknown (`-1`) or the end of a path (`-2`), and nothing after it is
judged. `level_accuracy`, `exact_match` (path accuracy), `node_accuracy`,
`consistency`, `hierarchical_prf`, `mistake_severity`, `top_k_accuracy` and
the strict `path_accuracy` of variable-depth trees all take predicted paths;
`paths_from_probs` (the per-level argmax of `hier_keras.paths.argmax_paths`,
ended after a predicted leaf) turns probabilities into paths.

All accuracies are fractions in [0, 1] (not percent); NaN where nothing can
be measured.

Example:

>>> import numpy as np
>>> from hier_keras import Hierarchy
>>> tree = Hierarchy.fashion_mnist()
>>> y = tree.complete(np.array([0, 9]))
>>> exact_match(y, np.array([[0, 0, 0], [1, 5, 7]]))
0.5
"""

from __future__ import annotations

import numpy as np

from hier_keras.hierarchy import Hierarchy
from hier_keras.paths import argmax_paths


def _labels(y_true, hierarchy=None):
    y = np.asarray(y_true)
    if y.ndim == 1 and hierarchy is not None:
        return hierarchy.complete(y)
    if y.ndim != 2:
        raise ValueError(f"`y_true` must be int (N, depth); received shape {y.shape}.")
    return y.astype(np.int64)


def _paths(y_pred_paths, y):
    p = np.asarray(y_pred_paths).astype(np.int64)
    if p.shape != y.shape:
        raise ValueError(
            f"`y_pred_paths` has shape {p.shape} but `y_true` has {y.shape}; both are "
            "(N, depth) label paths (use `paths_from_probs` to turn probabilities into paths)."
        )
    return p


def _prefix_len(paths):
    """Number of leading non-negative entries per row."""
    return (paths >= 0).cumprod(axis=1).sum(axis=1)


def level_accuracy(y_true, y_pred_paths, level) -> float:
    """Accuracy at one level over the samples whose label there is known.

    Args:
        y_true: int `(N, depth)` labels (negatives unknown / ended).
        y_pred_paths: int `(N, depth)` predicted paths.
        level: int column.

    Returns:
        Fraction in [0, 1]; NaN when no sample knows `level`.

    Example:

    >>> level_accuracy([[0, 1], [1, -1]], [[0, 0], [1, 2]], 0)
    1.0
    """
    y = _labels(y_true)
    p = _paths(y_pred_paths, y)
    known = y[:, level] >= 0
    if not known.any():
        return float("nan")
    return float(np.mean(p[known, level] == y[known, level]))


def exact_match(y_true, y_pred_paths) -> float:
    """Path accuracy: share of samples whose every known level is right.

    Levels with a negative label are not checked; samples with no known
    level are left out. Koo et al. 2018 call it path accuracy.

    Returns:
        Fraction in [0, 1]; NaN when no sample has a known label.

    Example:

    >>> exact_match([[0, 1], [1, -1], [0, 0]], [[0, 1], [1, 2], [0, 1]])
    0.6666666666666666
    """
    y = _labels(y_true)
    p = _paths(y_pred_paths, y)
    known = y >= 0
    rows = known.any(axis=1)
    if not rows.any():
        return float("nan")
    right = np.all((p == y) | ~known, axis=1)
    return float(np.mean(right[rows]))


def node_accuracy(y_true, y_pred_paths) -> float:
    """Node accuracy (Koo et al. 2018): share of a sample's known path nodes predicted right.

    Per sample, `#{l : y[l] >= 0 and p[l] == y[l]} / #{l : y[l] >= 0}`,
    averaged over the samples with at least one known level.

    Returns:
        Fraction in [0, 1]; NaN when no sample has a known label.

    Example:

    >>> node_accuracy([[0, 1, 2], [1, 3, -1]], [[0, 1, 0], [0, 3, 4]])  # (2/3 + 1/2) / 2
    0.5833333333333333
    """
    y = _labels(y_true)
    p = _paths(y_pred_paths, y)
    known = y >= 0
    n_known = known.sum(axis=1)
    rows = n_known > 0
    if not rows.any():
        return float("nan")
    right = ((p == y) & known).sum(axis=1)
    return float(np.mean(right[rows] / n_known[rows]))


def consistency(y_pred_paths, hierarchy) -> float:
    """Share of predicted paths that follow parent links (`Hierarchy.path_is_valid`).

    A negative entry ends a path; nothing after it is checked.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> consistency([[0, 1], [0, 2], [1, -1]], tree)
    0.6666666666666666
    """
    hierarchy = Hierarchy.coerce(hierarchy)
    paths = np.asarray(y_pred_paths)
    if len(paths) == 0:
        return float("nan")
    return float(np.mean(hierarchy.path_is_valid(paths)))


def _comparable(y, p, hierarchy):
    """Predicted paths cut to what the labels can judge.

    When a label path stops at an internal node with `-1` (finer levels
    unknown, not an end of path), predictions below that level cannot be
    judged and are dropped. A path that ends at a leaf or with `-2` keeps the
    whole prediction, so predicting too deep costs precision.
    """
    p = p.copy()
    true_len = _prefix_len(y)
    pred_len = _prefix_len(p)
    p[np.arange(p.shape[1])[None, :] >= pred_len[:, None]] = -1
    for i in np.flatnonzero((true_len > 0) & (true_len < y.shape[1])):
        k = true_len[i] - 1
        unknown_below = y[i, k + 1] == -1 and not hierarchy.is_leaf(k)[y[i, k]]
        if unknown_below:
            p[i, k + 1:] = -1
    return p


def hierarchical_prf(y_true, y_pred_paths, hierarchy):
    """Hierarchical precision, recall and F1 (Kiritchenko et al. 2005).

    Kiritchenko, Matwin, Famili (2005), "Functional annotation of genes using
    hierarchical text categorization": each sample's true label set `Y` and
    predicted set `Ŷ` are augmented with all their ancestors (the root
    excluded) and the scores micro-averaged over samples:

        hP = sum_i |Ŷ_i ∩ Y_i| / sum_i |Ŷ_i|,  hR = sum_i |Ŷ_i ∩ Y_i| / sum_i |Y_i|,
        hF1 = 2 hP hR / (hP + hR).

    Here a set is the nodes of a path, from level 0 to its last known /
    predicted node (entries up to the first negative one), so a node `(l, id)`
    is in both sets when both paths reach level `l` with the same id there.
    Predicted paths are taken as given (an inconsistent prediction is not
    repaired with the true ancestors of its nodes). Samples without any known
    label are left out. When a label path stops at an internal node with `-1`
    (finer levels unknown), predicted nodes below it are not counted; when it
    ends at a leaf or with `-2`, predicting deeper lowers hP.

    Args:
        y_true: int `(N, depth)` labels.
        y_pred_paths: int `(N, depth)` predicted paths.
        hierarchy: the `Hierarchy` (tells leaves, so `-1` after a leaf is an end), a
            built-in name or a `to_dict()` dict.

    Returns:
        `(hP, hR, hF1)` floats in [0, 1]; NaN where a denominator is 0.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.fashion_mnist()
    >>> y = tree.complete([0, 9])          # [0, 0, 0], [1, 5, 9]
    >>> p = [[0, 0, 6], [1, 5, 9]]         # one fine mistake
    >>> [round(v, 4) for v in hierarchical_prf(y, p, tree)]
    [0.8333, 0.8333, 0.8333]
    """
    hierarchy = Hierarchy.coerce(hierarchy)
    y = _labels(y_true, hierarchy)
    p = _comparable(y, _paths(y_pred_paths, y), hierarchy)
    rows = _prefix_len(y) > 0
    y, p = y[rows], p[rows]
    in_y = np.arange(y.shape[1])[None, :] < _prefix_len(y)[:, None]
    in_p = p >= 0
    inter = float(np.sum(in_y & in_p & (p == y)))
    n_p, n_y = float(in_p.sum()), float(in_y.sum())
    h_p = inter / n_p if n_p else float("nan")
    h_r = inter / n_y if n_y else float("nan")
    h_f = 2 * h_p * h_r / (h_p + h_r) if h_p + h_r > 0 else (
        0.0 if n_p and n_y else float("nan"))
    return h_p, h_r, h_f


def mistake_severity(y_true, y_pred_paths, hierarchy) -> float:
    """Mean height of the lowest common ancestor over the mistakes.

    A mistake is a sample whose finest known label (last entry before the
    first negative) is predicted wrong. Its severity is
    `hierarchy.lca_height(pred, true)`: the number of levels from the deeper of
    the two paths up to their lowest common ancestor (Bertinetto et al. 2020,
    "Making better mistakes"). Predicted levels the label cannot judge (below
    a `-1` at an internal node) are dropped first, as in `hierarchical_prf`.

    Returns:
        Mean severity (levels, not a fraction); NaN when there is no mistake.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.fashion_mnist()
    >>> y = tree.complete([0, 9, 9])
    >>> mistake_severity(y, [[0, 0, 6], [1, 5, 9], [0, 0, 0]], tree)  # lca heights 1 and 3
    2.0
    """
    hierarchy = Hierarchy.coerce(hierarchy)
    y = _labels(y_true, hierarchy)
    p = _comparable(y, _paths(y_pred_paths, y), hierarchy)
    length = _prefix_len(y)
    rows = np.flatnonzero(length > 0)
    finest = length[rows] - 1
    wrong = p[rows, finest] != y[rows, finest]
    if not wrong.any():
        return float("nan")
    rows = rows[wrong]
    return float(np.mean(hierarchy.lca_height(p[rows], y[rows])))


def top_k_accuracy(y_true_level_ids, probs, k=5) -> float:
    """Share of samples whose label is among the `k` most probable classes.

    Args:
        y_true_level_ids: int `(N,)` ids at one level; negatives are skipped.
        probs: float `(N, n_classes)` of that level.
        k: int.

    Returns:
        Fraction in [0, 1]; NaN when no label is known.

    Example:

    >>> top_k_accuracy([2, 0, -1], [[0.5, 0.1, 0.4], [0.1, 0.5, 0.4], [1, 0, 0]], k=2)
    0.5
    """
    y = np.asarray(y_true_level_ids).reshape(-1)
    probs = np.asarray(probs)
    known = y >= 0
    if not known.any():
        return float("nan")
    k = min(int(k), probs.shape[-1])
    top = np.argpartition(-probs[known], k - 1, axis=-1)[:, :k]
    return float(np.mean(np.any(top == y[known, None], axis=1)))


def paths_from_probs(probs, hierarchy, cut_after_leaves=True) -> np.ndarray:
    """Int32 `(N, depth)` paths: the argmax of each level, taken independently.

    `hier_keras.paths.argmax_paths` under the name (and keyword) the metrics
    have always used.

    Args:
        probs: dict `{level_name: (N, n_level)}` (other keys ignored) or a
            list of per-level arrays, coarsest first. Missing levels give `-1`.
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
        cut_after_leaves: end a path after a predicted leaf and after a
            missing level (entries set to `-1`). Default True; fixed-depth
            trees with every level predicted are unaffected.

    Example:

    >>> import numpy as np
    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_paths([["A", "a1"], ["B"]])
    >>> paths_from_probs([np.array([[0.2, 0.8]]), np.array([[1.0]])], tree).tolist()
    [[1, -1]]
    """
    return argmax_paths(probs, Hierarchy.coerce(hierarchy), cut=cut_after_leaves)


def path_accuracy(y_true, y_pred_paths, hierarchy) -> float:
    """Strict path accuracy for general trees (Koo et al. 2018 Sec. 4.1).

    Like `exact_match`, but a label path that ends on purpose (at a leaf, or
    with `-2` at an internal node) must be matched by a prediction that ends
    there too: predicting deeper is a mistake. A `-1` before a leaf (finer
    levels unknown) leaves the deeper levels unjudged, as in `exact_match`.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_paths([["A", "a1"], ["A", "a2"], ["B"]])
    >>> path_accuracy([[0, -2], [1, -1]], [[0, 0], [1, -1]], tree)  # first goes too deep
    0.5
    """
    hierarchy = Hierarchy.coerce(hierarchy)
    y = _labels(y_true, hierarchy)
    p = _paths(y_pred_paths, y)
    rows = _prefix_len(y) > 0
    if not rows.any():
        return float("nan")
    p_cut = _comparable(y, p, hierarchy)
    known = y >= 0
    same = np.all((p_cut == y) | ~known, axis=1)
    deeper = np.any((p_cut >= 0) & ~known, axis=1)
    return float(np.mean((same & ~deeper)[rows]))
