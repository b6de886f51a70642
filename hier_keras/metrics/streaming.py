"""Streaming Keras metrics of hierarchical predictions, tracked during `fit` / `evaluate`.

`LevelAccuracy`, `TopKLevelAccuracy`, `ExactMatch` and `Consistency` take
`y_true` int `(batch, depth)` (coarsest first, `-1` unknown, `-2` end of path)
and `y_pred` = the model output dict `{level_name: probs}` (or a list of
per-level probabilities, coarsest first), use keras.ops only, and serialise
with `get_config` (a hierarchy is stored as `Hierarchy.to_dict()`).
`level_metrics(hierarchy)` builds the default set.

`ExactMatch` and `Consistency` score the per-level argmax path ended after a
predicted leaf, the paths of `hier_keras.paths.argmax_paths`, so over a
dataset they equal the NumPy `exact_match` / `consistency` of those paths
(`hier_keras.metrics.path_metrics`). `LevelAccuracy` scores each level's own
argmax, which is the same thing on fixed-depth trees.

Example:

>>> import numpy as np
>>> from hier_keras import Hierarchy
>>> tree = Hierarchy.fashion_mnist()
>>> m = ExactMatch(tree)
>>> y = tree.complete(np.array([0, 9]))
>>> probs = {n: np.eye(s)[y[:, l]] for l, (n, s) in
...          enumerate(zip(tree.level_names, tree.level_sizes))}
>>> m.update_state(y, probs)
>>> float(m.result())
1.0
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from hier_keras.hierarchy import Hierarchy
from hier_keras.outputs import level_list

EPSILON = 1e-12


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
        per_level = level_list(y_pred, self.hierarchy.level_names)
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
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict. Gives
            the level names (dict outputs) and the leaves. With `None`,
            `y_pred` must be a list and paths are not cut at leaves.
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
            per_level = level_list(y_pred)
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
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
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
        hierarchy: a `Hierarchy`, a built-in name or a `to_dict()` dict.
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
