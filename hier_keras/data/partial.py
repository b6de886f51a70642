"""Partially labelled data: S_fine / S_coarse splits and ratio-keeping batches.

Guo et al. 2018 Sec. 4.2 and the min-pooling paper train with a set S_fine of
full label paths and a set S_coarse whose finer labels are unknown (-1).
"""

from __future__ import annotations

import numpy as np

from hier_keras.hierarchy import Hierarchy


def partial_labels(labels, hierarchy, fine_fraction, coarse_fraction=None, seed=0):
    """Split samples into S_fine (full path), S_coarse (level 0 only) and dropped.

    Stratified by finest label: within every class, a `fine_fraction` share
    keeps its path, the next `coarse_fraction` share (default: the rest) keeps
    only its level-0 label, the remainder is dropped.

    Returns:
        `(labels_out, is_fine, keep)`: labels with finer levels set to -1 for
        S_coarse, and boolean masks.

    Example:

    >>> tree = Hierarchy.fashion_mnist()
    >>> y = tree.complete(np.repeat(np.arange(10), 10))
    >>> out, is_fine, keep = partial_labels(y, tree, 0.2, 0.5)
    >>> int(is_fine.sum()), int(keep.sum()), out[~is_fine & keep][0].tolist()[1:]
    (20, 70, [-1, -1])
    """
    tree = Hierarchy.from_dict(hierarchy)
    labels = tree.validate_labels(labels)
    if coarse_fraction is None:
        coarse_fraction = 1.0 - fine_fraction
    if not (0 <= fine_fraction <= 1 and 0 <= coarse_fraction <= 1
            and fine_fraction + coarse_fraction <= 1 + 1e-9):
        raise ValueError(
            f"Fractions must lie in [0, 1] and sum to at most 1; received fine "
            f"{fine_fraction}, coarse {coarse_fraction}."
        )
    rng = np.random.default_rng(seed)
    deepest = np.array([row[row >= 0][-1] + tree.node_offsets[(row >= 0).sum() - 1]
                        if (row >= 0).any() else -1 for row in labels])
    is_fine = np.zeros(len(labels), bool)
    keep = np.zeros(len(labels), bool)
    for cls in np.unique(deepest):
        idx = rng.permutation(np.flatnonzero(deepest == cls))
        n_fine = int(round(fine_fraction * len(idx)))
        n_coarse = int(round(coarse_fraction * len(idx)))
        is_fine[idx[:n_fine]] = True
        keep[idx[: n_fine + n_coarse]] = True
    out = labels.copy()
    out[~is_fine, 1:] = -1
    return out, is_fine, keep


def ratio_batches(images, labels, is_fine, batch_size=128, seed=0, repeat=True):
    """tf.data batches that each hold the S_fine : S_coarse ratio of the data.

    Every batch has `round(batch_size * n_fine / n)` fine-labelled samples and
    the rest coarse-only ones; the smaller set cycles when the larger one is
    longer (`repeat=False` ends after one pass of the larger set).

    Example:

    >>> tree = Hierarchy.fashion_mnist()
    >>> y = tree.complete(np.repeat(np.arange(10), 10))
    >>> out, is_fine, keep = partial_labels(y, tree, 0.3, 0.7)
    >>> ds = ratio_batches(np.zeros((100, 28, 28, 1)), out, is_fine, batch_size=20)
    >>> x, yb = next(iter(ds))
    >>> int((yb.numpy()[:, -1] >= 0).sum())
    6
    """
    import tensorflow as tf

    images, labels, is_fine = np.asarray(images), np.asarray(labels, np.int32), np.asarray(is_fine, bool)
    n_fine = int(is_fine.sum())
    n_coarse = len(is_fine) - n_fine
    k_fine = int(round(batch_size * n_fine / max(len(is_fine), 1)))
    if n_fine and k_fine == 0:
        k_fine = 1
    if n_coarse and k_fine == batch_size:
        k_fine = batch_size - 1
    k_coarse = batch_size - k_fine

    def part(mask, k, s):
        ds = tf.data.Dataset.from_tensor_slices((images[mask].astype(np.float32), labels[mask]))
        return ds.shuffle(max(int(mask.sum()), 1), seed=s).repeat().batch(k)

    parts = [p for p, k in ((part(is_fine, k_fine, seed), k_fine),
                            (part(~is_fine, k_coarse, seed + 1), k_coarse)) if k > 0]
    ds = tf.data.Dataset.zip(tuple(parts)).map(
        lambda *b: (tf.concat([x for x, _ in b], 0), tf.concat([y for _, y in b], 0)))
    if not repeat:
        steps = int(np.ceil(max(n_fine / max(k_fine, 1) if k_fine else 0,
                                n_coarse / max(k_coarse, 1) if k_coarse else 0)))
        ds = ds.take(steps)
    return ds.prefetch(tf.data.AUTOTUNE)
