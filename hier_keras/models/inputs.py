"""Images and labels checked at the model's public entries, before any graph runs.

`fit`, `evaluate`, `predict`, `predict_paths` and `predict_label_paths` pass
NumPy inputs through these checks, so a bad batch is an error that names the
problem and the fix instead of a silent wrong answer:

- images: numeric (bool and strings refused), the model's shape (a missing
  channel axis of gray images is added), not empty, finite, and within the
  pixel range the model was trained on (`pixel_range`, default 0-255; a batch
  scaled to [0, 1], as many Keras tutorials do, is refused with the fix);
- labels: class ids or class names (mapped to ids), checked against the tree
  (range, parent consistency), and not all unknown (`-1`) when training.

Example:

>>> import numpy as np
>>> try:
...     check_images(np.full((2, 28, 28, 1), 0.5), (28, 28, 1))
... except ValueError as err:
...     print(str(err)[:44])
These images look scaled to [0, 1] (largest
"""

from __future__ import annotations

import numpy as np

RAW_PIXELS = (0.0, 255.0)
_TOLERANCE = 1e-3


def check_images(images, image_shape, pixel_range=RAW_PIXELS) -> np.ndarray:
    """A NumPy batch of raw images checked for a model; returned as float32.

    Args:
        images: array `(batch, height, width, channels)` (or without the
            channel axis for gray images).
        image_shape: the model's `(height, width, channels)`.
        pixel_range: `(low, high)` the model's pixels span, or `None` to skip
            the range checks.
    """
    arr = np.asarray(images)
    if arr.dtype == bool or arr.dtype.kind not in "uif":
        raise ValueError(f"Images must be numeric arrays (uint8 or float pixel values); "
                         f"received dtype {arr.dtype}.")
    image_shape = tuple(image_shape)
    if arr.ndim == 3 and image_shape[-1] == 1 and arr.shape[1:] == image_shape[:2]:
        arr = arr[..., None]
    if arr.ndim != 4 or tuple(arr.shape[1:]) != image_shape:
        raise ValueError(
            f"Images must have shape (batch, {', '.join(map(str, image_shape))}) for this "
            f"model; received {tuple(arr.shape)}. Resize or pad them first, e.g. "
            "`hk.data.fit_to_shape(images, model.preprocessing['input_shape'])`.")
    if len(arr) == 0:
        raise ValueError("The image batch is empty (0 images); give at least one image.")
    arr = arr.astype(np.float32)
    finite = np.isfinite(arr).reshape(len(arr), -1).all(axis=1)
    if not finite.all():
        raise ValueError(f"Image {int(np.flatnonzero(~finite)[0])} has NaN or infinite pixel "
                         "values; fix or drop it before predicting.")
    if pixel_range is not None:
        low, high = (float(v) for v in pixel_range)
        smallest, largest = float(arr.min()), float(arr.max())
        if smallest < low - _TOLERANCE or largest > high + _TOLERANCE:
            raise ValueError(
                f"Pixel values span [{smallest:g}, {largest:g}], outside the range "
                f"[{low:g}, {high:g}] this model was trained on. Give raw pixels in that range "
                "(or set `model.pixel_range = None` to skip this check).")
        if high > 1.5 and 0.0 < largest <= 1.0:
            raise ValueError(
                f"These images look scaled to [0, 1] (largest value {largest:g}), but this "
                f"model takes raw pixels in [{low:g}, {high:g}] and normalises them itself: "
                "multiply them by 255 (or set `model.pixel_range = None` to skip this check).")
    return arr


def check_labels(labels, hierarchy, training=False) -> np.ndarray:
    """Label rows as int32 ids, checked against the tree (names are mapped to ids).

    Args:
        labels: int `(batch, depth)` ids (`-1` unknown), or the same rows of
            class names (`None`, `""` or `-1` where unknown).
        hierarchy: the model's `Hierarchy`.
        training: refuse a batch whose every label is unknown (it would train
            on a zero loss).
    """
    arr = np.asarray(labels)
    if arr.dtype.kind in "USO":
        arr = np.asarray(_names_to_ids(arr, hierarchy))
    arr = hierarchy.validate_labels(arr)
    if training and arr.size and (arr < 0).all():
        raise ValueError("Every label is unknown (-1): there is nothing to train on. Give at "
                         "least one known class id per batch.")
    return arr


def _names_to_ids(rows, hierarchy):
    if rows.ndim != 2:
        raise ValueError(f"Label names must be rows of class names, one per level; received "
                         f"shape {rows.shape}.")
    out = []
    for row in rows.tolist():
        names = []
        for value in row:
            if value is None or value == "" or (isinstance(value, (int, np.integer))
                                                 and value == -1):
                break
            if not isinstance(value, str):
                raise ValueError(f"Label row {row} mixes class names and other values; give "
                                 "names (None where unknown) or integer ids, not both.")
            names.append(value)
        ids = hierarchy.path_from_names(names) if names else \
            np.full(hierarchy.depth, -1, np.int32)
        out.append(ids)
    return out
