"""Image folders: `root/<level0>/<level1>/.../image.png`; the folder tree is the hierarchy."""

from __future__ import annotations

import os

import numpy as np

from hier_keras.hierarchy import IMAGE_EXTENSIONS, Hierarchy


def image_folder(root, hierarchy=None, image_size=None, batch_size=32, shuffle=True, seed=0,
                 augment=False, input_shape=None, preprocessing=None):
    """A tf.data pipeline over a folder tree of images (variable depth allowed).

    Labels are the folder paths (`-1` after a leaf folder). Returns
    `(dataset, hierarchy)`.

    Example:

    >>> ds, tree = image_folder("photos/", input_shape=(64, 64, 3))  # doctest: +SKIP
    """
    from hier_keras.data.pipeline import from_arrays
    from hier_keras.data.shapes import read_images

    tree = Hierarchy.from_dict(hierarchy) if hierarchy is not None else Hierarchy.from_folder(root)
    files, rows = [], []
    for folder, _, names in os.walk(root):
        rel = os.path.relpath(folder, root)
        parts = [] if rel == "." else rel.split(os.sep)
        for name in sorted(names):
            if name.lower().endswith(IMAGE_EXTENSIONS) and parts:
                files.append(os.path.join(folder, name))
                rows.append(tree.path_from_names(parts))
    if not files:
        raise ValueError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) under {root!r}.")
    shape = input_shape or (preprocessing or {}).get("input_shape")
    if shape is None:
        if image_size is None:
            raise ValueError("Pass `input_shape` (or `preprocessing`) or `image_size`.")
        shape = (*image_size, 3)
    images = read_images(files, shape)
    ds = from_arrays(images, np.stack(rows), tree, batch_size=batch_size, shuffle=shuffle,
                     seed=seed, augment=augment, input_shape=shape)
    return ds, tree
