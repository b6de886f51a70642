"""Masked per-level cross-entropy for hierarchical labels.

Every family trains on the same data loss: a cross-entropy per level, each
averaged over the samples whose label at that level is known, then summed
with per-level weights (eq. 1 of Guo et al. 2018, "CNN-RNN: a large-scale
hierarchical image classification framework"; the loss of Zhu & Bain 2017
B-CNN is the same sum with weights that change over training). Labels
follow the package contract: int `(batch, depth)`, coarsest first, `-1`
unknown and `-2` end-of-path; any negative label contributes nothing, not
to the loss and not to its gradient.

keras.ops only, so the loss runs on every Keras backend.

Example:

>>> import numpy as np
>>> loss = HierarchicalCrossEntropy(level_weights=[1.0, 2.0])
>>> y = np.array([[0, 1], [1, -1]])
>>> logits = [np.zeros((2, 2), "float32"), np.zeros((2, 3), "float32")]
>>> round(float(loss(y, logits)), 4)  # log(2) + 2 * log(3)
2.8904
"""

from __future__ import annotations

import keras
from keras import ops

from hier_keras.outputs import level_list

EPSILON = 1e-7


def masked_sparse_categorical_crossentropy(labels, logits_or_probs, from_logits=True):
    """Per-sample cross-entropy that ignores negative labels.

    Args:
        labels: int tensor `(batch,)`; `-1` (unknown) and `-2` (end of path)
            mark samples without a label at this level.
        logits_or_probs: float tensor `(batch, n_classes)`.
        from_logits: whether `logits_or_probs` are logits (default) or
            probabilities.

    Returns:
        `(loss, mask)`, both float32 `(batch,)`: the cross-entropy of each
        sample, exactly 0 where the label is negative (with a zero gradient
        with respect to that sample's scores), and the 0/1 mask of samples
        with a label.

    Example:

    >>> import numpy as np
    >>> loss, mask = masked_sparse_categorical_crossentropy(
    ...     np.array([1, -1]), np.zeros((2, 4), "float32"))
    >>> [round(float(v), 4) for v in loss], np.asarray(mask).tolist()
    ([1.3863, 0.0], [1.0, 0.0])
    """
    labels = ops.cast(labels, "int32")
    scores = ops.cast(logits_or_probs, "float32")
    if len(scores.shape) != 2:
        raise ValueError(
            "`logits_or_probs` must be 2-D (batch, n_classes); received shape "
            f"{tuple(scores.shape)}."
        )
    known = labels >= 0
    safe = ops.where(known, labels, ops.zeros_like(labels))
    if from_logits:
        log_p = ops.log_softmax(scores, axis=-1)
    else:
        probs = scores / ops.maximum(ops.sum(scores, axis=-1, keepdims=True), EPSILON)
        log_p = ops.log(ops.clip(probs, EPSILON, 1.0))
    picked = ops.take_along_axis(log_p, ops.expand_dims(safe, -1), axis=-1)[:, 0]
    mask = ops.cast(known, "float32")
    # Multiplying (rather than `where`) keeps the masked samples' gradient exactly 0:
    # `picked` is finite, so 0 * d(picked) = 0.
    return -picked * mask, mask


def _as_level_list(y_pred, level_names):
    """List of per-level scores, coarsest first, from a list/tuple or a dict (every level)."""
    if isinstance(y_pred, dict):
        if level_names is None:
            raise ValueError(
                "`y_pred` is a dict, so the loss needs `level_names` (coarsest first) to "
                "order it, e.g. HierarchicalCrossEntropy(level_names=hierarchy.level_names); "
                f"received keys {sorted(y_pred)}."
            )
        missing = [n for n in level_names if n not in y_pred]
        if missing:
            raise ValueError(
                f"`y_pred` has no entry for level(s) {missing}; it has {sorted(y_pred)}. "
                "Pass scores for every level in `level_names`."
            )
    per_level = level_list(y_pred, level_names)
    return [per_level[i] for i in range(len(per_level))]


def hierarchical_crossentropy(y_true, y_pred, level_weights=None, from_logits=True,
                              level_names=None, sample_weight=None):
    """Weighted sum over levels of the masked mean cross-entropy.

    `loss = sum_l w_l * mean_{i : y_true[i, l] >= 0} CE(y_true[i, l], y_pred[l][i])`
    (eq. 1 of Guo et al. 2018). A level with no known label in the batch
    adds 0 (never NaN).

    Args:
        y_true: int `(batch, depth)` labels, coarsest first, negatives masked.
        y_pred: list (coarsest first) of `(batch, n_l)` logits / probabilities,
            or a dict `{level_name: scores}` (then give `level_names`). Its
            length must equal `depth`.
        level_weights: one weight per level. Defaults to 1 each.
        from_logits: whether `y_pred` holds logits (default) or probabilities.
        level_names: order of the dict keys, coarsest first.
        sample_weight: optional float `(batch,)`; each level's mean becomes the
            weighted mean over its known samples.

    Returns:
        Scalar float32 tensor.

    Example:

    >>> import numpy as np
    >>> y = np.array([[0, 2], [1, -1]])
    >>> scores = {"coarse": np.zeros((2, 2), "float32"), "fine": np.zeros((2, 3), "float32")}
    >>> round(float(hierarchical_crossentropy(y, scores, level_names=["coarse", "fine"])), 4)
    1.7918
    """
    levels = _as_level_list(y_pred, level_names)
    y_true = ops.cast(y_true, "int32")
    if len(y_true.shape) != 2:
        raise ValueError(
            f"`y_true` must be int (batch, depth); received shape {tuple(y_true.shape)}."
        )
    depth = y_true.shape[1]
    if depth is not None and depth != len(levels):
        raise ValueError(
            f"`y_true` has {depth} levels but `y_pred` has {len(levels)}; give one score "
            "tensor per label column (select the label columns of the levels you score)."
        )
    if level_weights is None:
        level_weights = [1.0] * len(levels)
    if len(level_weights) != len(levels):
        raise ValueError(
            f"`level_weights` has {len(level_weights)} entries for {len(levels)} levels; "
            "give one weight per level, coarsest first."
        )
    sw = None if sample_weight is None else ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    total = ops.zeros((), "float32")
    for level, (scores, weight) in enumerate(zip(levels, level_weights)):
        per_sample, mask = masked_sparse_categorical_crossentropy(
            y_true[:, level], scores, from_logits=from_logits
        )
        if sw is not None:
            per_sample, mask = per_sample * sw, mask * sw
        # Numerator is 0 whenever the denominator is, so the maximum only avoids 0/0.
        mean = ops.sum(per_sample) / ops.maximum(ops.sum(mask), EPSILON)
        total = total + float(weight) * mean
    return total


@keras.saving.register_keras_serializable(package="hier_keras")
class HierarchicalCrossEntropy(keras.losses.Loss):
    """Masked per-level cross-entropy, summed over levels with weights.

    Guo et al. 2018 (CNN-RNN), eq. 1; the per-level losses of Zhu & Bain 2017
    (B-CNN) and Seo & Shin 2019 take the same form. See
    `hierarchical_crossentropy` for the formula. Samples whose label at a
    level is negative (`-1` unknown, `-2` end of path) add nothing to that
    level; a level no sample knows adds 0.

    Args:
        level_weights: list of floats, one per level, coarsest first.
            Defaults to 1 each.
        from_logits: bool. Whether `y_pred` holds logits (default) or
            probabilities.
        level_names: list of str, coarsest first; needed when `y_pred` is a
            dict `{level_name: scores}`. Defaults to `None` (list input).
        name: str. Defaults to `"hierarchical_crossentropy"`.

    Call arguments:
        y_true: int `(batch, depth)` labels.
        y_pred: list (coarsest first) or dict of per-level `(batch, n_l)` scores.
        sample_weight: optional `(batch,)` weights (weighted mean per level).

    Example:

    >>> import numpy as np
    >>> loss = HierarchicalCrossEntropy(level_names=["coarse", "fine"], from_logits=False)
    >>> y = np.array([[0, 1]])
    >>> probs = {"coarse": np.array([[0.5, 0.5]]), "fine": np.array([[0.5, 0.5]])}
    >>> round(float(loss(y, probs)), 4)  # 2 * log(2)
    1.3863
    """

    def __init__(self, level_weights=None, from_logits=True, level_names=None,
                 name="hierarchical_crossentropy", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.level_weights = None if level_weights is None else [float(w) for w in level_weights]
        self.from_logits = bool(from_logits)
        self.level_names = None if level_names is None else [str(n) for n in level_names]

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The base class reduces a per-sample vector; this loss is already a
        # per-level mean (over known samples), so it reduces itself.
        return hierarchical_crossentropy(
            y_true, y_pred, level_weights=self.level_weights, from_logits=self.from_logits,
            level_names=self.level_names, sample_weight=sample_weight,
        )

    def call(self, y_true, y_pred):
        return hierarchical_crossentropy(
            y_true, y_pred, level_weights=self.level_weights, from_logits=self.from_logits,
            level_names=self.level_names,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            level_weights=self.level_weights,
            from_logits=self.from_logits,
            level_names=self.level_names,
        )
        return config
