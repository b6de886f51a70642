"""Partially labelled data: S_fine / S_coarse splits and ratio-keeping batches.

Guo et al. 2018 Sec. 4.2 and the min-pooling paper train with a set S_fine of
full label paths and a set S_coarse whose finer labels are unknown (-1).
"""

from __future__ import annotations

import numpy as np

from hier_keras.hierarchy import Hierarchy


def check_fractions(fine_fraction, coarse_fraction=None):
    """`(fine, coarse)` label shares, checked; `coarse=None` means the rest.

    Raises:
        ValueError: a share outside [0, 1] (or NaN), or shares summing above 1.

    Example:

    >>> check_fractions(0.1)
    (0.1, 0.9)
    """
    fine = float(fine_fraction)
    coarse = 1.0 - fine if coarse_fraction is None else float(coarse_fraction)
    if not (0 <= fine <= 1 and 0 <= coarse <= 1 and fine + coarse <= 1 + 1e-9):
        raise ValueError(
            f"Fractions must lie in [0, 1] and sum to at most 1; received fine "
            f"{fine_fraction}, coarse {coarse_fraction}."
        )
    return fine, coarse


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
    tree = Hierarchy.coerce(hierarchy)
    labels = tree.validate_labels(labels)
    rest = coarse_fraction is None
    fine_fraction, coarse_fraction = check_fractions(fine_fraction, coarse_fraction)
    rng = np.random.default_rng(seed)
    deepest = np.array([row[row >= 0][-1] + tree.node_offsets[(row >= 0).sum() - 1]
                        if (row >= 0).any() else -1 for row in labels])
    is_fine = np.zeros(len(labels), bool)
    keep = np.zeros(len(labels), bool)
    for cls in np.unique(deepest):
        idx = rng.permutation(np.flatnonzero(deepest == cls))
        n_fine = int(round(fine_fraction * len(idx)))
        n_coarse = len(idx) - n_fine if rest else int(round(coarse_fraction * len(idx)))
        is_fine[idx[:n_fine]] = True
        keep[idx[: n_fine + n_coarse]] = True
    out = labels.copy()
    out[~is_fine, 1:] = -1
    return out, is_fine, keep


def ratio_batches(images, labels, is_fine=None, batch_size=128, seed=0, repeat=True,
                  augment=False, input_shape=None, padding=None, preprocessing=None):
    """tf.data batches that each hold the S_fine : S_coarse ratio of the data.

    The min-pooling paper (Sec. IV-D) keeps the share of finely
    labelled samples fixed in every mini-batch. Every batch here has
    `k = round(batch_size * n_fine / n)` fine-labelled samples (at least 1
    and at most `batch_size - 1` when both sets are non-empty) and
    `batch_size - k` coarse-only ones, each set shuffled with `seed`.

    Args:
        images: `(N, H, W[, C])` raw pixels.
        labels: `(N, depth)` label rows, e.g. `partial_labels(...)[0][keep]`.
        is_fine: boolean `(N,)` mask of S_fine. Defaults to "level 1 is
            known" (what `partial_labels` leaves for S_fine on a tree of
            depth > 1).
        batch_size: int. Defaults to `128`.
        seed: int. Shuffle and augmentation seed. Defaults to `0`.
        repeat: bool. `True`: an infinite stream (both sets cycle; pass
            `steps_per_epoch` to `fit`). `False`: one pass of the set that
            needs more batches, the other cycling; the last batch stays full.
        augment, input_shape, padding, preprocessing: as in `from_arrays`.

    Returns:
        A `tf.data.Dataset` of `(images float32 (B, H, W, C), labels int32 (B, depth))`,
        fine-labelled samples first in each batch.

    Example:

    >>> tree = Hierarchy.fashion_mnist()
    >>> y = tree.complete(np.repeat(np.arange(10), 10))
    >>> out, is_fine, keep = partial_labels(y, tree, 0.3, 0.7)
    >>> ds = ratio_batches(np.zeros((100, 28, 28, 1)), out, is_fine, batch_size=20)
    >>> x, yb = next(iter(ds))
    >>> int((yb.numpy()[:, -1] >= 0).sum()), tuple(x.shape)
    (6, (20, 28, 28, 1))
    """
    import tensorflow as tf

    from hier_keras.data.arrays import batch_fn, resolve_preprocessing
    from hier_keras.data.shapes import _check

    if isinstance(is_fine, (int, np.integer)) and not isinstance(is_fine, bool):
        raise ValueError(
            f"ratio_batches' third argument is the is_fine mask; received the int {is_fine}. "
            "Pass the batch size as `batch_size=`."
        )
    images = _check(images)
    labels = np.asarray(labels, np.int32)
    if labels.ndim != 2 or len(labels) != len(images):
        raise ValueError(
            f"labels must be (N, depth) rows for the {len(images)} images; received shape "
            f"{labels.shape}."
        )
    if is_fine is None:
        if labels.shape[1] < 2:
            raise ValueError("Pass `is_fine`: with a one-level tree it cannot be inferred.")
        is_fine = labels[:, 1] >= 0
    is_fine = np.asarray(is_fine)
    if is_fine.shape != (len(images),) or is_fine.dtype != bool:
        raise ValueError(
            f"is_fine must be a boolean mask of shape ({len(images)},); received "
            f"{is_fine.dtype} {is_fine.shape}."
        )
    batch_size = int(batch_size)
    n, n_fine = len(is_fine), int(is_fine.sum())
    n_coarse = n - n_fine
    if n == 0 or batch_size < 2:
        raise ValueError(
            f"ratio_batches needs samples and batch_size >= 2; received {n} samples, "
            f"batch_size {batch_size}."
        )
    k_fine = int(round(batch_size * n_fine / n))
    if n_fine:
        k_fine = max(k_fine, 1)
    if n_coarse:
        k_fine = min(k_fine, batch_size - 1)
    k_coarse = batch_size - k_fine
    input_shape, padding = resolve_preprocessing(preprocessing, input_shape, padding)
    fn = batch_fn(input_shape, augment, padding, seed)

    def part(mask, k, s):
        ds = tf.data.Dataset.from_tensor_slices((images[mask], labels[mask]))
        ds = ds.shuffle(int(mask.sum()), seed=s, reshuffle_each_iteration=True).repeat()
        return ds.batch(k)

    parts = []
    if k_fine:
        parts.append(part(is_fine, k_fine, seed))
    if k_coarse:
        parts.append(part(~is_fine, k_coarse, seed + 1))
    ds = tf.data.Dataset.zip(tuple(parts)).map(
        lambda *b: (tf.concat([x for x, _ in b], 0), tf.concat([y for _, y in b], 0)))
    if not repeat:
        steps = max(int(np.ceil(n_fine / k_fine)) if k_fine else 0,
                    int(np.ceil(n_coarse / k_coarse)) if k_coarse else 0)
        ds = ds.take(steps)
    rand = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip((ds, rand)).map(lambda xy, r: fn(xy[0], xy[1], r),
                                             num_parallel_calls=tf.data.AUTOTUNE,
                                             deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
