"""Fitting images to a model's input shape (NumPy and tf.data versions)."""

from __future__ import annotations

import numpy as np


def _check(images):
    arr = np.asarray(images)
    if arr.dtype.kind not in "uif":
        raise ValueError(f"Images must be numeric; received dtype {arr.dtype}.")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise ValueError(
            f"Images must be (N, height, width[, channels]); received shape {arr.shape}."
        )
    return arr


def fit_to_shape(images, input_shape) -> np.ndarray:
    """Pad or resize spatially and match channels (1 <-> 3) to `input_shape`.

    Smaller images are zero-padded, centred (28 -> 32 as in the usual MNIST
    padding); larger or other sizes are resized bilinearly. Grey images are
    repeated to 3 channels; colour images are averaged to 1.

    Example:

    >>> fit_to_shape(np.zeros((2, 28, 28, 1), "uint8"), (32, 32, 3)).shape
    (2, 32, 32, 3)
    """
    arr = _check(images).astype(np.float32)
    h, w, c = (int(d) for d in input_shape)
    if arr.shape[-1] != c:
        if arr.shape[-1] == 1 and c == 3:
            arr = np.repeat(arr, 3, axis=-1)
        elif arr.shape[-1] == 3 and c == 1:
            arr = arr.mean(axis=-1, keepdims=True)
        else:
            raise ValueError(
                f"Cannot map {arr.shape[-1]} channels to {c}; only 1 <-> 3 is supported."
            )
    ih, iw = arr.shape[1:3]
    if (ih, iw) == (h, w):
        return arr
    if ih <= h and iw <= w:
        top, left = (h - ih) // 2, (w - iw) // 2
        return np.pad(arr, ((0, 0), (top, h - ih - top), (left, w - iw - left), (0, 0)))
    import tensorflow as tf

    return tf.image.resize(arr, (h, w)).numpy()


def needs_resize(image_shape, input_shape) -> bool:
    """Whether fitting `(H, W, ...)` images to `input_shape` resizes (rather than pads).

    Example:

    >>> needs_resize((28, 28, 1), (32, 32, 3)), needs_resize((64, 64, 3), (32, 32, 3))
    (False, True)
    """
    (ih, iw), (h, w) = tuple(image_shape[:2]), tuple(input_shape[:2])
    return (ih, iw) != (h, w) and not (ih <= h and iw <= w)


def tf_fit_to_shape(image, input_shape):
    """tf.data version of `fit_to_shape` for a float32 image `(H, W, C)` or batch `(B, H, W, C)`.

    Example:

    >>> import tensorflow as tf
    >>> tuple(tf_fit_to_shape(tf.ones((28, 28, 1)), (32, 32, 3)).shape)
    (32, 32, 3)
    >>> tuple(tf_fit_to_shape(tf.ones((5, 40, 40, 3)), (32, 32, 1)).shape)
    (5, 32, 32, 1)
    """
    import tensorflow as tf

    h, w, c = (int(d) for d in input_shape)
    ih, iw, ic = image.shape[-3:]
    lead = [[0, 0]] * (len(image.shape) - 3)
    if ic != c:
        if (ic, c) == (1, 3):
            image = tf.repeat(image, 3, axis=-1)
        elif (ic, c) == (3, 1):
            image = tf.reduce_mean(image, -1, keepdims=True)
        else:
            raise ValueError(f"Cannot map {ic} channels to {c}; only 1 <-> 3 is supported.")
    if (ih, iw) != (h, w):
        if ih is not None and iw is not None and ih <= h and iw <= w:
            top, left = (h - ih) // 2, (w - iw) // 2
            image = tf.pad(image, lead + [[top, h - ih - top], [left, w - iw - left], [0, 0]])
        else:
            image = tf.image.resize(image, (h, w))
    return image


def read_images(paths, input_shape) -> np.ndarray:
    """Read image files (PNG/JPEG/BMP/GIF) as raw float32 pixels fitted to `input_shape`.

    A missing, unreadable or undecodable file is a `ValueError` naming its path.

    Example:

    >>> import os, tempfile, tensorflow as tf
    >>> p = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> tf.io.write_file(p, tf.io.encode_png(tf.zeros((10, 12, 3), tf.uint8)))
    >>> read_images([p], (16, 16, 1)).shape
    (1, 16, 16, 1)
    """
    import tensorflow as tf

    out = []
    for path in paths:
        if not tf.io.gfile.exists(path):
            raise ValueError(f"Image file {path!r} does not exist.")
        try:
            img = tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False)
        except tf.errors.OpError as err:
            raise ValueError(
                f"Cannot read image file {path!r} ({type(err).__name__}: "
                f"{err.message.splitlines()[0] if err.message else ''}); it is unreadable or "
                "not a PNG/JPEG/BMP/GIF image. Fix or remove it."
            ) from None
        out.append(fit_to_shape(img.numpy()[None], input_shape)[0])
    return np.stack(out)
