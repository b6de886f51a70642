"""Augmentation: 4-pixel zero or reflect padding, random crop back, random horizontal flip.

Guo et al. 2018 ("+" augmentation) note that reflect- vs zero-padding matters;
both are offered. Randomness is stateless and keyed by (seed, element index),
so a pipeline is deterministic given its seed.
"""

from __future__ import annotations

PADDINGS = ("zero", "reflect")


def pad_crop_flip(image, seed, pad=4, padding="zero", flip=True):
    """Augment one float image `(H, W, C)`: pad, random crop back, random flip.

    Args:
        image: float `(H, W, C)` tensor.
        seed: stateless seed, shape `[2]` integers; the same seed gives the
            same crop and flip.
        pad: int. Pixels padded on each side. Defaults to `4`.
        padding: `"zero"` or `"reflect"`. Defaults to `"zero"`.
        flip: bool. Random horizontal flip. Defaults to `True`.

    Example:

    >>> import numpy as np
    >>> img = np.arange(64, dtype="float32").reshape(8, 8, 1)
    >>> a = pad_crop_flip(img, np.array([0, 3]), padding="reflect")
    >>> b = pad_crop_flip(img, np.array([0, 3]), padding="reflect")
    >>> tuple(a.shape), bool((a.numpy() == b.numpy()).all())
    ((8, 8, 1), True)
    """
    import tensorflow as tf

    if padding not in PADDINGS:
        raise ValueError(f"Unknown padding {padding!r}; use one of {PADDINGS}.")
    h, w, c = image.shape
    mode = "CONSTANT" if padding == "zero" else "REFLECT"
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]], mode=mode)
    seeds = tf.random.experimental.stateless_split(seed, 2)
    image = tf.image.stateless_random_crop(padded, (h, w, c), seed=seeds[0])
    if flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=seeds[1])
    return image


def batch_pad_crop_flip(images, seed, pad=4, padding="zero", flip=True):
    """`pad_crop_flip` for a batch `(B, H, W, C)`: one crop offset and flip per image.

    Vectorised (gathers instead of a per-image map), so a tf.data pipeline
    can augment whole batches; deterministic given the stateless `seed`.

    Args:
        images: float `(B, H, W, C)` tensor.
        seed: stateless seed, shape `[2]` integers.
        pad, padding, flip: as in `pad_crop_flip`.

    Example:

    >>> import numpy as np
    >>> x = np.arange(2 * 8 * 8, dtype="float32").reshape(2, 8, 8, 1)
    >>> a = batch_pad_crop_flip(x, np.array([0, 3]), padding="reflect")
    >>> b = batch_pad_crop_flip(x, np.array([0, 3]), padding="reflect")
    >>> tuple(a.shape), bool((a.numpy() == b.numpy()).all())
    ((2, 8, 8, 1), True)
    """
    import tensorflow as tf

    if padding not in PADDINGS:
        raise ValueError(f"Unknown padding {padding!r}; use one of {PADDINGS}.")
    images = tf.convert_to_tensor(images)
    h, w = images.shape[1], images.shape[2]
    n = tf.shape(images)[0]
    mode = "CONSTANT" if padding == "zero" else "REFLECT"
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode=mode)
    seeds = tf.random.experimental.stateless_split(seed, 2)
    offsets = tf.random.stateless_uniform([n, 2], seeds[0], 0, 2 * pad + 1, dtype=tf.int32)
    rows = offsets[:, :1] + tf.range(h)[None]
    cols = offsets[:, 1:] + tf.range(w)[None]
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    out = tf.gather(out, cols, axis=2, batch_dims=1)
    if flip:
        flips = tf.random.stateless_uniform([n], seeds[1]) < 0.5
        out = tf.where(flips[:, None, None, None], tf.reverse(out, [2]), out)
    return out
