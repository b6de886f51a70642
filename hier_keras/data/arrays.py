"""tf.data pipelines from NumPy arrays: `(images float32 raw, labels int32 (B, depth))`.

Images stay uint8 (or whatever numeric dtype they came in) through shuffling
and are cast, fitted to the model's input shape and augmented a whole batch
at a time, so a 50,000-image CIFAR split costs its uint8 size in memory, not
four times that in float32, and the per-epoch work is vectorised.

Randomness is deterministic given `seed`: the shuffle uses `seed`, and the
augmentation of the i-th batch of an epoch uses the stateless seed
`(seed, r_i)` where `r_i` comes from `tf.data.Dataset.random(seed)`, which draws
a fresh (but reproducible) stream each epoch.
"""

from __future__ import annotations

import numpy as np

from hier_keras.data.augment import PADDINGS, batch_pad_crop_flip
from hier_keras.data.shapes import _check, needs_resize, tf_fit_to_shape
from hier_keras.hierarchy import Hierarchy


def resolve_preprocessing(preprocessing=None, input_shape=None, padding=None):
    """`(input_shape, padding)` from explicit arguments, else a `preprocessing` dict.

    `preprocessing` is what a model's `model.preprocessing` returns (keys
    `input_shape`, `mean`, `std`, `padding`, `augment`); explicit arguments win.

    Example:

    >>> resolve_preprocessing({"input_shape": [32, 32, 3], "padding": "reflect"})
    ((32, 32, 3), 'reflect')
    >>> resolve_preprocessing(None, input_shape=(28, 28, 1))
    ((28, 28, 1), 'zero')
    """
    if preprocessing is not None and not hasattr(preprocessing, "get"):
        raise ValueError(
            "`preprocessing` must be a dict such as `model.preprocessing` (keys input_shape, "
            f"mean, std, padding); received {type(preprocessing).__name__}."
        )
    pre = dict(preprocessing or {})
    input_shape = input_shape if input_shape is not None else pre.get("input_shape")
    padding = padding or pre.get("padding") or "zero"
    if padding not in PADDINGS:
        raise ValueError(f"Unknown padding {padding!r}; use one of {PADDINGS}.")
    if input_shape is not None:
        input_shape = tuple(int(d) for d in input_shape)
        if len(input_shape) != 3 or input_shape[-1] not in (1, 3) or min(input_shape) < 1:
            raise ValueError(
                f"input_shape must be (height, width, channels) with 1 or 3 channels; "
                f"received {input_shape}."
            )
    return input_shape, padding


def batch_fn(input_shape=None, augment=False, padding="zero", seed=0):
    """The per-batch map `(images, labels, random int) -> (float32 images, labels)`.

    Casts to float32 (raw pixel values), fits to `input_shape` and, with
    `augment`, pads 4 px + random-crops + flips each image with the stateless
    seed `(seed, random int)`. Shared by `from_arrays` and `ratio_batches`.

    Example:

    >>> import tensorflow as tf
    >>> f = batch_fn((32, 32, 3), augment=True, seed=1)
    >>> x, y = f(tf.zeros((2, 28, 28, 1), tf.uint8), tf.zeros((2, 3), tf.int32),
    ...          tf.constant(7, tf.int64))
    >>> tuple(x.shape), x.dtype.name
    ((2, 32, 32, 3), 'float32')
    """
    import tensorflow as tf

    def fn(x, y, r):
        x = tf.cast(x, tf.float32)
        if input_shape is not None:
            x = tf_fit_to_shape(x, input_shape)
        if augment:
            x = batch_pad_crop_flip(
                x, tf.stack([tf.cast(seed, tf.int64), tf.cast(r, tf.int64)]), padding=padding)
        return x, y

    return fn


def check_labels(images, labels, hierarchy):
    """Validated `(images (N, H, W, C), labels int32 (N, depth), Hierarchy)`.

    Labels may be 1-D finest-level ids (completed to paths with
    `hierarchy.complete`) or `(N, depth)` rows (checked with
    `hierarchy.validate_labels`).

    Example:

    >>> x, y, tree = check_labels(np.zeros((2, 28, 28), "uint8"), [0, 9], Hierarchy.fashion_mnist())
    >>> x.shape, y.tolist()
    ((2, 28, 28, 1), [[0, 0, 0], [1, 5, 9]])
    """
    tree = Hierarchy.coerce(hierarchy)
    images = _check(images)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and labels.size and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise ValueError(f"Labels must be integer class ids; received dtype {labels.dtype}.")
    if labels.ndim == 1:
        labels = tree.complete(labels)
    elif labels.ndim == 2:
        labels = tree.validate_labels(labels)
    else:
        raise ValueError(
            f"Labels must be 1-D finest-level ids or (N, depth) rows; received shape {labels.shape}."
        )
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} label rows.")
    return images, np.asarray(labels, np.int32), tree


def from_arrays(images, labels, hierarchy, batch_size=128, shuffle=False, augment=False,
                seed=0, input_shape=None, padding=None, preprocessing=None, cache=True,
                drop_remainder=False):
    """A tf.data pipeline from NumPy arrays.

    Args:
        images: `(N, H, W[, C])` numeric array of raw pixels ([0, 255]).
        labels: 1-D finest-level ids (completed to paths) or `(N, depth)`
            rows (validated; -1 unknown, -2 explicit end).
        hierarchy: the `Hierarchy` (or its dict).
        batch_size: int. Defaults to `128`.
        shuffle: bool. Shuffle (buffer of up to 20,000 elements, reshuffled
            each epoch) with `seed`. Defaults to `False`.
        augment: bool. Pad 4 px + random crop + horizontal flip (Guo et al.
            2018 "+" augmentation); for training splits only. Defaults to `False`.
        seed: int. Shuffle and augmentation seed. Defaults to `0`.
        input_shape: `(H, W, C)` of the model; images are zero-padded
            (centred) when smaller, resized otherwise, and 1 <-> 3 channels
            are repeated / averaged. Defaults to the images' own shape.
        padding: `"zero"` or `"reflect"` augmentation padding. Defaults to
            `preprocessing["padding"]`, else `"zero"`.
        preprocessing: a model's `model.preprocessing` dict, supplying
            `input_shape` and `padding` when not given explicitly.
        cache: bool. When fitting needs a resize, cache the resized images
            after the first epoch (padding and channel repeats are cheaper to
            redo than to store as float32). Defaults to `True`.
        drop_remainder: bool. Drop the last partial batch. Defaults to `False`.

    Returns:
        A `tf.data.Dataset` of `(images float32 (B, H, W, C), labels int32 (B, depth))`.

    Example:

    >>> tree = Hierarchy.fashion_mnist()
    >>> ds = from_arrays(np.zeros((4, 28, 28), "uint8"), [0, 1, 2, 9], tree, batch_size=2,
    ...                  input_shape=(32, 32, 3))
    >>> x, y = next(iter(ds))
    >>> tuple(x.shape), y.numpy().tolist()
    ((2, 32, 32, 3), [[0, 0, 0], [0, 1, 1]])
    """
    import tensorflow as tf

    images, labels, _ = check_labels(images, labels, hierarchy)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer; received {batch_size}.")
    input_shape, padding = resolve_preprocessing(preprocessing, input_shape, padding)
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    resize = input_shape is not None and needs_resize(images.shape[1:], input_shape)
    if resize and cache:
        # Resize once (in chunks), then shuffle/augment the cached float32 images.
        ds = ds.batch(512).map(
            lambda x, y: (tf_fit_to_shape(tf.cast(x, tf.float32), input_shape), y),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch().cache()
    if shuffle:
        ds = ds.shuffle(min(len(images), 20000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
    fn = batch_fn(None if (resize and cache) else input_shape, augment, padding, seed)
    rand = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip((ds, rand)).map(lambda xy, r: fn(xy[0], xy[1], r),
                                             num_parallel_calls=tf.data.AUTOTUNE,
                                             deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def compute_mean_std(images):
    """Per-channel mean and std of raw images in pixel units ([0, 255]).

    Models normalise internally with these (`(x - mean) / std`); compute them
    on the train split.

    Example:

    >>> m, s = compute_mean_std(np.stack([np.zeros((2, 2, 1)), np.full((2, 2, 1), 2.0)]))
    >>> m.tolist(), s.tolist()
    ([1.0], [1.0])
    """
    arr = _check(images)
    n = arr.shape[-1]
    total = np.zeros(n)
    sq = np.zeros(n)
    for start in range(0, len(arr), 4096):  # chunks: no float64 copy of a whole split
        chunk = arr[start:start + 4096].astype(np.float64).reshape(-1, n)
        total += chunk.sum(0)
        sq += np.square(chunk).sum(0)
    count = arr.size // n
    if count == 0:
        raise ValueError("compute_mean_std needs at least one image; received an empty array.")
    mean = total / count
    return mean, np.sqrt(np.maximum(sq / count - mean**2, 0.0))
