"""Hierarchical classification metrics: streaming Keras metrics and NumPy functions.

Two kinds live here:

- **Streaming Keras metrics** (`LevelAccuracy`, `ExactMatch`, `Consistency`,
  `TopKLevelAccuracy`) that a model tracks during `fit` / `evaluate`. They
  take `y_true` int `(batch, depth)` (coarsest first, `-1` unknown, `-2`
  end of path) and `y_pred` = the model output dict `{level_name: probs}`
  (or a list of per-level probabilities, coarsest first), use keras.ops
  only, and serialise with `get_config` (a hierarchy is stored as
  `Hierarchy.to_dict()`). `level_metrics(hierarchy)` builds the default set.
- **NumPy functions** on label paths (`level_accuracy`, `exact_match`,
  `node_accuracy`, `consistency`, `hierarchical_prf`, `mistake_severity`,
  `top_k_accuracy`) and `evaluate` / `evaluate_model`, which gather them in
  a one-row pandas DataFrame.

All accuracies are fractions in [0, 1] (not percent).

Predicted paths: `paths_from_probs` takes the argmax of every level
independently and, by default, ends a path after a predicted leaf (a
variable-depth tree has nothing below a leaf; fixed-depth trees are not
affected). The streaming `ExactMatch` and `Consistency` use the same paths, so
over a dataset they equal `exact_match` / `consistency` of
`paths_from_probs(probs, hierarchy)`. `LevelAccuracy` scores each level's
own argmax, which is the same thing on fixed-depth trees.

Example:

>>> import numpy as np
>>> from hier_keras import Hierarchy
>>> tree = Hierarchy.fashion_mnist()
>>> y = tree.complete(np.array([0, 9]))
>>> exact_match(y, np.array([[0, 0, 0], [1, 5, 7]]))
0.5
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
from keras import ops

from hier_keras.hierarchy import Hierarchy

EPSILON = 1e-12


# ===================================================================== streaming metrics
def _level_list(y_pred, level_names=None):
    """`{level index: scores}` from a list (coarsest first) or a dict keyed by level name."""
    if isinstance(y_pred, dict):
        if level_names is None:
            raise ValueError(
                "`y_pred` is a dict, so this metric needs the level names to read it "
                "(pass `hierarchy=` or `level_name=`)."
            )
        return {i: y_pred[n] for i, n in enumerate(level_names) if n in y_pred}
    if isinstance(y_pred, (list, tuple)):
        return dict(enumerate(y_pred))
    raise ValueError(
        "`y_pred` must be a dict {level_name: probs} or a list of per-level probs "
        f"(coarsest first); received {type(y_pred).__name__}."
    )


def _level_scores(y_pred, level, level_name):
    if isinstance(y_pred, dict):
        if level_name is None:
            raise ValueError(
                "`y_pred` is a dict; construct the metric with `level_name=` (the key of "
                f"level {level}). Keys: {sorted(y_pred)}."
            )
        if level_name not in y_pred:
            raise ValueError(
                f"`y_pred` has no level {level_name!r}; it has {sorted(y_pred)}."
            )
        return y_pred[level_name]
    if isinstance(y_pred, (list, tuple)):
        return y_pred[level]
    return y_pred  # a single tensor: this level's scores


class _RatioMetric(keras.metrics.Metric):
    """Weighted `hits / count` accumulator (0 before any counted sample)."""

    def __init__(self, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def _accumulate(self, hit, counted, sample_weight):
        hit = ops.cast(hit, "float32")
        counted = ops.cast(counted, "float32")
        if sample_weight is not None:
            counted = counted * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        self.hits.assign_add(ops.cast(ops.sum(hit * counted), self.hits.dtype))
        self.count.assign_add(ops.cast(ops.sum(counted), self.count.dtype))

    def result(self):
        return ops.divide(self.hits, ops.maximum(self.count, EPSILON))

    def reset_state(self):
        self.hits.assign(0.0)
        self.count.assign(0.0)


@keras.saving.register_keras_serializable(package="hier_keras")
class LevelAccuracy(_RatioMetric):
    """Accuracy of one level's argmax over the samples that know that level.

    Samples whose label at `level` is negative (`-1`, `-2`) are not counted.

    Args:
        level: int. Column of `y_true` (0 = coarsest).
        level_name: str. Key of the level in a dict `y_pred`. Needed for dict
            outputs. Defaults to `None`.
        name: str. Defaults to `"<level_name>_accuracy"` (or `"level_<level>_accuracy"`).

    Example:

    >>> import numpy as np
    >>> m = LevelAccuracy(1, "fine")
    >>> m.update_state(np.array([[0, 1], [0, -1]]), {"fine": np.array([[0.1, 0.9], [1.0, 0.0]])})
    >>> float(m.result())
    1.0
    """

    def __init__(self, level, level_name=None, name=None, dtype=None):
        self.level = int(level)
        self.level_name = level_name
        super().__init__(name=name or f"{level_name or f'level_{self.level}'}_accuracy",
                         dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = ops.cast(y_true, "int32")[:, self.level]
        scores = _level_scores(y_pred, self.level, self.level_name)
        pred = ops.cast(ops.argmax(scores, axis=-1), "int32")
        self._accumulate(ops.equal(pred, y), y >= 0, sample_weight)

    def get_config(self):
        return {"level": self.level, "level_name": self.level_name, "name": self.name,
                "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="hier_keras")
class TopKLevelAccuracy(_RatioMetric):
    """Top-k accuracy of one level over the samples that know that level.

    Args:
        level: int. Column of `y_true`.
        k: int. Defaults to 5.
        level_name: str. Key of the level in a dict `y_pred`.
        name: str. Defaults to `"top<k>_<level_name>_accuracy"`.

    Example:

    >>> import numpy as np
    >>> m = TopKLevelAccuracy(0, k=2)
    >>> m.update_state(np.array([[2], [0]]), [np.array([[0.5, 0.1, 0.4], [0.1, 0.5, 0.4]])])
    >>> float(m.result())
    0.5
    """

    def __init__(self, level, k=5, level_name=None, name=None, dtype=None):
        self.level = int(level)
        self.k = int(k)
        self.level_name = level_name
        super().__init__(
            name=name or f"top{self.k}_{level_name or f'level_{self.level}'}_accuracy",
            dtype=dtype,
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = ops.cast(y_true, "int32")[:, self.level]
        scores = ops.cast(_level_scores(y_pred, self.level, self.level_name), "float32")
        known = y >= 0
        safe = ops.where(known, y, ops.zeros_like(y))
        k = min(self.k, scores.shape[-1]) if scores.shape[-1] is not None else self.k
        hit = ops.in_top_k(safe, scores, k)
        self._accumulate(hit, known, sample_weight)

    def get_config(self):
        return {"level": self.level, "k": self.k, "level_name": self.level_name,
                "name": self.name, "dtype": self.dtype}


def _tables(hierarchy, levels):
    """Level indices scored, leaf flags and ancestor tables between consecutive ones."""
    idx = sorted(hierarchy.level_index(l) for l in levels)
    is_leaf = {l: hierarchy.is_leaf(l).astype("int32") for l in idx}
    anc = {
        b: hierarchy.ancestor(b, np.arange(hierarchy.level_sizes[b]), a).astype("int32")
        for a, b in zip(idx[:-1], idx[1:])
    }
    return idx, is_leaf, anc


def _cut_argmax_paths(per_level, idx, is_leaf):
    """`{level: (pred, alive)}`: argmax per level; `alive` is False after a predicted leaf."""
    out = {}
    alive = None
    for l in idx:
        pred = ops.cast(ops.argmax(per_level[l], axis=-1), "int32")
        if alive is None:
            alive = ops.ones_like(pred, dtype="bool")
        out[l] = (pred, alive)
        leaf = ops.take(ops.convert_to_tensor(is_leaf[l]), pred) > 0
        alive = ops.logical_and(alive, ops.logical_not(leaf))
    return out


class _TreeMetric(_RatioMetric):
    def __init__(self, hierarchy, levels=None, name=None, dtype=None):
        self.hierarchy = Hierarchy.coerce(hierarchy)
        self.levels = None if levels is None else [str(self.hierarchy.level_names[
            self.hierarchy.level_index(l)]) for l in levels]
        super().__init__(name=name, dtype=dtype)

    def _paths(self, y_pred):
        per_level = _level_list(y_pred, self.hierarchy.level_names)
        wanted = self.levels if self.levels is not None else self.hierarchy.level_names
        names = [n for n in wanted if self.hierarchy.level_names.index(n) in per_level]
        if not names:
            raise ValueError(
                f"`y_pred` holds none of the levels {wanted}; received "
                f"{sorted(y_pred) if isinstance(y_pred, dict) else len(y_pred)}."
            )
        idx, is_leaf, anc = _tables(self.hierarchy, names)
        return _cut_argmax_paths(per_level, idx, is_leaf), idx, anc

    def get_config(self):
        return {"hierarchy": self.hierarchy.to_dict(), "levels": self.levels,
                "name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="hier_keras")
class ExactMatch(_TreeMetric):
    """Share of samples whose every known level is predicted right (path accuracy).

    The predicted path is the per-level argmax, ended after a predicted leaf
    (a label below a predicted leaf counts as missed). Levels with a negative
    label are not checked; samples with no known level are not counted.

    Args:
        hierarchy: `Hierarchy` or its dict. Gives the level names (dict
            outputs) and the leaves. With `None`, `y_pred` must be a list and
            paths are not cut at leaves.
        levels: level names or indices to check (those the model predicts).
            Defaults to every level present in `y_pred`.
        name: str. Defaults to `"exact_match"`.

    Example:

    >>> import numpy as np
    >>> m = ExactMatch()
    >>> m.update_state(np.array([[0, 1], [1, -1]]),
    ...                [np.array([[0.9, 0.1], [0.9, 0.1]]), np.array([[0.0, 1.0], [1.0, 0.0]])])
    >>> float(m.result())
    0.5
    """

    def __init__(self, hierarchy=None, levels=None, name="exact_match", dtype=None):
        if hierarchy is None:
            self.hierarchy = None
            self.levels = None if levels is None else [int(l) for l in levels]
            _RatioMetric.__init__(self, name=name, dtype=dtype)
        else:
            super().__init__(hierarchy, levels, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = ops.cast(y_true, "int32")
        if self.hierarchy is None:
            per_level = _level_list(y_pred)
            idx = [l for l in (self.levels or sorted(per_level)) if l in per_level]
            paths = {l: (ops.cast(ops.argmax(per_level[l], axis=-1), "int32"), None)
                     for l in idx}
        else:
            paths, idx, _ = self._paths(y_pred)
        right = ops.ones_like(y[:, 0], dtype="bool")
        any_known = ops.zeros_like(y[:, 0], dtype="bool")
        for l in idx:
            pred, alive = paths[l]
            known = y[:, l] >= 0
            ok = ops.equal(pred, y[:, l])
            if alive is not None:
                ok = ops.logical_and(ok, alive)
            right = ops.logical_and(right, ops.logical_or(ok, ops.logical_not(known)))
            any_known = ops.logical_or(any_known, known)
        self._accumulate(right, any_known, sample_weight)

    def get_config(self):
        if self.hierarchy is None:
            return {"hierarchy": None, "levels": self.levels, "name": self.name,
                    "dtype": self.dtype}
        return super().get_config()


@keras.saving.register_keras_serializable(package="hier_keras")
class Consistency(_TreeMetric):
    """Share of samples whose predicted path follows the tree's parent links.

    The per-level argmax path (ended after a predicted leaf) is consistent
    when each predicted class is a child of the class predicted one level up
    (Guo et al. 2018 report it as the share of "consistent" predictions).
    Implemented as a gather on a table of ancestors, so levels a model skips
    are bridged. Labels are not used; every sample counts.

    Args:
        hierarchy: `Hierarchy` or its dict.
        levels: level names or indices the model predicts. Defaults to every
            level present in `y_pred`.
        name: str. Defaults to `"consistency"`.

    Example:

    >>> import numpy as np
    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> m = Consistency(tree)
    >>> m.update_state(np.zeros((2, 2), "int32"),
    ...                {"coarse": np.array([[1.0, 0.0], [1.0, 0.0]]),
    ...                 "fine": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])})
    >>> float(m.result())
    0.5
    """

    def __init__(self, hierarchy, levels=None, name="consistency", dtype=None):
        super().__init__(hierarchy, levels, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        paths, idx, anc = self._paths(y_pred)
        first, _ = paths[idx[0]]
        ok = ops.ones_like(first, dtype="bool")
        for a, b in zip(idx[:-1], idx[1:]):
            pred_b, alive_b = paths[b]
            parent = ops.take(ops.convert_to_tensor(anc[b]), pred_b)
            step = ops.equal(parent, paths[a][0])
            ok = ops.logical_and(ok, ops.logical_or(step, ops.logical_not(alive_b)))
        self._accumulate(ok, ops.ones_like(ok), sample_weight)


def level_metrics(hierarchy, levels=None, top_k=None):
    """The metrics a hier_keras model tracks by default.

    Args:
        hierarchy: `Hierarchy` or its dict.
        levels: names (or indices) of the levels the model predicts. Defaults
            to all levels.
        top_k: optional int; adds `TopKLevelAccuracy` of the finest predicted
            level when that level has more than `k` classes.

    Returns:
        List: `LevelAccuracy` per level (named `<level_name>_accuracy`),
        `ExactMatch` (`exact_match`) and, with two levels or more,
        `Consistency` (`consistency`).

    Example:

    >>> from hier_keras import Hierarchy
    >>> [m.name for m in level_metrics(Hierarchy.fashion_mnist())]
    ['coarse_accuracy', 'medium_accuracy', 'fine_accuracy', 'exact_match', 'consistency']
    """
    tree = Hierarchy.coerce(hierarchy)
    names = tree.level_names if levels is None else [
        tree.level_names[tree.level_index(l)] for l in levels]
    out = [LevelAccuracy(tree.level_index(n), n) for n in names]
    if top_k and tree.level_sizes[tree.level_index(names[-1])] > int(top_k):
        out.append(TopKLevelAccuracy(tree.level_index(names[-1]), int(top_k), names[-1]))
    out.append(ExactMatch(tree, levels=names))
    if len(names) > 1:
        out.append(Consistency(tree, levels=names))
    return out


# ===================================================================== NumPy functions
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
        hierarchy: the `Hierarchy` (tells leaves, so `-1` after a leaf is an end).

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

    Args:
        probs: dict `{level_name: (N, n_level)}` (other keys ignored) or a
            list of per-level arrays, coarsest first. Missing levels give `-1`.
        hierarchy: the `Hierarchy`.
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
    per_level = _level_list(probs, hierarchy.level_names)
    if not per_level:
        raise ValueError(
            f"`probs` holds none of the levels {hierarchy.level_names}; received "
            f"{sorted(probs) if isinstance(probs, dict) else probs}."
        )
    n = len(next(iter(per_level.values())))
    paths = np.full((n, hierarchy.depth), -1, np.int32)
    for level, scores in per_level.items():
        paths[:, level] = np.argmax(np.asarray(scores), axis=-1)
    if cut_after_leaves:
        alive = np.ones(n, bool)
        for level in range(hierarchy.depth):
            paths[~alive, level] = -1
            cur = paths[:, level]
            ok = cur >= 0
            leaf = np.zeros(n, bool)
            leaf[ok] = hierarchy.is_leaf(level)[cur[ok]]
            alive = alive & ok & ~leaf
    return paths


def evaluate(y_true, predictions, hierarchy, paths=None, top_k=(5,)):
    """Every hierarchical metric in a one-row pandas DataFrame.

    Args:
        y_true: int `(N, depth)` labels (or `(N,)` finest-level ids, completed
            with the hierarchy).
        predictions: the model's output dict `{level_name: (N, n) probs}` (or
            a list, coarsest first). May be `None` when `paths` is given
            (then no top-k columns).
        hierarchy: the `Hierarchy`.
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
        paths = paths_from_probs(predictions, hierarchy)
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
        per_level = _level_list(predictions, hierarchy.level_names)
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
    otherwise the per-level argmax of `predict` (`paths_from_probs`).

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
        probs = {k: np.asarray(v) for k, v in probs.items() if not k.startswith("_")}
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


# ===================================================================== multi-label paths
def _level_scores_list(scores, hierarchy):
    per_level = _level_list(scores, hierarchy.level_names)
    missing = [n for i, n in enumerate(hierarchy.level_names) if i not in per_level]
    if missing:
        raise ValueError(f"Multi-label scores need every level; missing {missing}.")
    return [np.asarray(per_level[i], np.float64) for i in range(hierarchy.depth)]


def multilabel_on_nodes(scores, hierarchy, threshold):
    """Bool `(N, num_nodes)`: a node is on when it and all its ancestors score >= threshold.

    Koo et al. 2018, Sec. 4.2: "a path is selected if all logits of the nodes in
    the path are above the threshold".

    Args:
        scores: `{level_name: (N, n_level)}` sigmoid scores (or a list, coarsest first).
        hierarchy: the `Hierarchy`.
        threshold: float.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> multilabel_on_nodes([np.array([[0.9, 0.2]]), np.array([[0.8, 0.1, 0.9]])], tree, 0.5)
    array([[ True, False,  True, False, False]])
    """
    levels = _level_scores_list(scores, hierarchy)
    parts = []
    for level, s in enumerate(levels):
        on = s >= threshold
        if level > 0:
            on &= parts[-1][:, hierarchy.parents[level]]
        parts.append(on)
    return np.concatenate(parts, axis=1)


def _true_sets(true_paths, hierarchy):
    """Per sample: (set of path-end node ids, set of node ids on its paths)."""
    y = np.asarray(true_paths)
    if y.ndim == 2:
        y = y[:, None, :]
    if y.ndim != 3 or y.shape[2] != hierarchy.depth:
        raise ValueError(f"Multi-label labels are int (N, paths, {hierarchy.depth}) label "
                         f"paths (padding rows all -1); received shape {y.shape}.")
    offs = hierarchy.node_offsets
    ends, nodes = [], []
    for rows in y:
        e, n = set(), set()
        for row in rows:
            k = int(_prefix_len(row[None])[0])
            if k == 0:
                continue
            ids = [int(offs[l] + row[l]) for l in range(k)]
            n.update(ids)
            e.add(ids[-1])
        ends.append(e)
        nodes.append(n)
    return ends, nodes


def _pred_sets(on, hierarchy):
    parents = hierarchy.node_parents()
    ends, nodes = [], []
    for row in on:
        ids = set(np.flatnonzero(row).tolist())
        has_child = {int(parents[i]) for i in ids if parents[i] >= 0}
        nodes.append(ids)
        ends.append(ids - has_child)
    return ends, nodes


def _micro_f1(true_sets, pred_sets):
    tp = sum(len(t & p) for t, p in zip(true_sets, pred_sets))
    n_p = sum(len(p) for p in pred_sets)
    n_t = sum(len(t) for t in true_sets)
    prec = tp / n_p if n_p else 0.0
    rec = tp / n_t if n_t else 0.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0)


def multilabel_f1(true_paths, scores, hierarchy, threshold=0.5):
    """Path F1 and node F1 of multi-label path predictions (Koo et al. 2018, Table 3).

    Predicted nodes: `multilabel_on_nodes` (score and all ancestors' scores
    >= threshold); predicted paths: on-nodes without an on-child (a path is
    on when all its nodes are). True paths: the label rows; true nodes: all
    nodes on them. Precision, recall and F1 are micro-averaged over samples.

    Args:
        true_paths: int `(N, paths, depth)` (rows all -1 are padding) or
            `(N, depth)` for one path per sample.
        scores: `{level_name: (N, n_level)}` sigmoid scores.
        hierarchy: the `Hierarchy`.
        threshold: float.

    Returns:
        dict `{path_precision, path_recall, path_f1, node_precision,
        node_recall, node_f1}` (fractions).

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> y = [[[0, 0], [1, 2]]]                       # paths A/a1 and B/b1
    >>> s = [np.array([[0.9, 0.2]]), np.array([[0.8, 0.1, 0.9]])]
    >>> r = multilabel_f1(y, s, tree)
    >>> round(r["path_f1"], 4), round(r["node_f1"], 4)
    (0.6667, 0.6667)
    """
    on = multilabel_on_nodes(scores, hierarchy, threshold)
    t_ends, t_nodes = _true_sets(true_paths, hierarchy)
    p_ends, p_nodes = _pred_sets(on, hierarchy)
    out = {}
    for kind, t, p in (("path", t_ends, p_ends), ("node", t_nodes, p_nodes)):
        out[f"{kind}_precision"], out[f"{kind}_recall"], out[f"{kind}_f1"] = _micro_f1(t, p)
    return out


def tune_threshold(true_paths, scores, hierarchy, thresholds=None, metric="path_f1"):
    """The threshold with the best `metric` (Koo et al.: chosen on validation data).

    Args:
        thresholds: candidates. Defaults to 0.05, 0.10, ..., 0.95.
        metric: a key of `multilabel_f1` (`"path_f1"` or `"node_f1"`).

    Returns:
        `(threshold, multilabel_f1 dict at that threshold)`; ties go to the
        threshold closest to 0.5.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> s = [np.array([[0.9, 0.3]]), np.array([[0.8, 0.1, 0.3]])]
    >>> tune_threshold([[[0, 0], [1, 2]]], s, tree)[0]
    0.3
    """
    if thresholds is None:
        thresholds = np.round(np.arange(0.05, 0.951, 0.05), 2)
    best = None
    for thr in thresholds:
        res = multilabel_f1(true_paths, scores, hierarchy, float(thr))
        key = (round(res[metric], 12), -abs(float(thr) - 0.5))
        if best is None or key > best[0]:
            best = (key, float(thr), res)
    return best[1], best[2]


def multilabel_path_sets(scores, hierarchy, threshold=0.5):
    """Per sample, the int `(k, depth)` predicted paths (`-1` padded) of multi-label scores.

    Example:

    >>> from hier_keras import Hierarchy
    >>> tree = Hierarchy.from_nested({"A": ["a1", "a2"], "B": ["b1"]})
    >>> s = [np.array([[0.9, 0.8]]), np.array([[0.8, 0.1, 0.9]])]
    >>> multilabel_path_sets(s, tree)[0].tolist()
    [[0, 0], [1, 2]]
    """
    on = multilabel_on_nodes(scores, hierarchy, threshold)
    ends, _ = _pred_sets(on, hierarchy)
    node_paths = hierarchy.node_paths()
    return [node_paths[sorted(e)].reshape(-1, hierarchy.depth) for e in ends]


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
