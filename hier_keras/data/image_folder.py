"""Image folders: `root/<level0>/<level1>/.../image.png`; the folder tree is the hierarchy."""

from __future__ import annotations

import os

import numpy as np

from hier_keras.hierarchy import Hierarchy

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _raise_unreadable(err):
    raise ValueError(f"Cannot read the image folder {err.filename!r}: {err.strerror}.") from err


def image_folder(root, hierarchy=None, image_size=None, batch_size=32, shuffle=True, seed=0,
                 augment=False, input_shape=None, preprocessing=None):
    """A tf.data pipeline over a folder tree of images (variable depth allowed).

    `root/<level0>/<level1>/.../image.png`: every folder is a class, and the
    images in a folder are labelled with its path (`-1` after a leaf that
    ends above the deepest level). Images are decoded once into memory.
    Hidden files and folders (leading `.`) are skipped, as are files directly
    in `root`. A class folder with no images, a file that is not an image
    (by extension) or one that cannot be read or decoded is a `ValueError`
    naming its path.

    Args:
        root: the top folder.
        hierarchy: optional `Hierarchy` whose class names are the folder
            names; defaults to `Hierarchy.from_folder(root)`.
        image_size: `(H, W)`, used (with 3 channels) when neither
            `input_shape` nor `preprocessing` is given.
        batch_size, shuffle, seed, augment: as in `from_arrays`.
        input_shape / preprocessing: the model's input shape, or
            `model.preprocessing`.

    Returns:
        `(dataset, hierarchy)`; the dataset yields `(images float32 raw,
        labels int32 (B, depth))`.

    Example:

    >>> import os, tempfile, tensorflow as tf
    >>> root = tempfile.mkdtemp()
    >>> for sub in ("cat/tabby", "cat/lion", "fish"):
    ...     os.makedirs(os.path.join(root, sub))
    ...     png = tf.io.encode_png(tf.zeros((8, 8, 3), tf.uint8))
    ...     tf.io.write_file(os.path.join(root, sub, "0.png"), png)
    >>> ds, tree = image_folder(root, image_size=(16, 16), shuffle=False)
    >>> x, y = next(iter(ds))
    >>> tuple(x.shape), sorted(y.numpy().tolist())
    ((3, 16, 16, 3), [[0, 0], [0, 1], [1, -1]])
    """
    from hier_keras.data.pipeline import from_arrays
    from hier_keras.data.shapes import read_images

    tree = Hierarchy.coerce(hierarchy) if hierarchy is not None else Hierarchy.from_folder(root)
    files, rows = [], []
    for folder, subs, names in os.walk(root, onerror=_raise_unreadable):
        subs[:] = sorted(d for d in subs if not d.startswith("."))  # as from_folder
        rel = os.path.relpath(folder, root)
        parts = [] if rel == "." else rel.split(os.sep)
        names = sorted(n for n in names if not n.startswith("."))
        if not parts:
            continue  # files next to the class folders (a README, a CSV) are not images
        others = [n for n in names if not n.lower().endswith(IMAGE_EXTENSIONS)]
        if others:
            raise ValueError(
                f"{os.path.join(folder, others[0])!r} is not an image "
                f"({', '.join(IMAGE_EXTENSIONS)}); move it out of the image folder (or hide it "
                "with a leading '.')."
            )
        if not names and not subs:
            raise ValueError(
                f"Class folder {folder!r} holds no images; add images or remove the folder."
            )
        for name in names:
            files.append(os.path.join(folder, name))
            try:
                rows.append(tree.path_from_names(parts))
            except (KeyError, ValueError) as err:
                raise ValueError(
                    f"Folder path {'/'.join(parts)!r} under {root!r} is not a path of the "
                    f"given hierarchy ({err}); pass hierarchy=None to build it from the "
                    "folders."
                ) from None
    if not files:
        raise ValueError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) under {root!r}.")
    shape = input_shape or (preprocessing or {}).get("input_shape")
    if shape is None:
        if image_size is None:
            raise ValueError("Pass `input_shape` (or `preprocessing`) or `image_size`.")
        shape = (*image_size, 3)
    images = read_images(files, shape)
    ds = from_arrays(images, np.stack(rows), tree, batch_size=batch_size, shuffle=shuffle,
                     seed=seed, augment=augment, input_shape=shape,
                     preprocessing=preprocessing)
    return ds, tree
