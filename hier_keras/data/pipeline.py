"""tf.data pipelines yielding `(images, labels)` per the package contract.

Images are float32 *raw* pixel values (models normalise internally), fitted to
the model's input shape; labels are int32 `(batch, depth)` paths with -1 where
unknown. Shuffling and augmentation are deterministic given `seed`.
"""

from __future__ import annotations

import numpy as np

from hier_keras.data.augment import pad_crop_flip
from hier_keras.data.shapes import _check, tf_fit_to_shape
from hier_keras.hierarchy import Hierarchy

DATASETS = ("fashion_mnist", "cifar100")


def compute_mean_std(images):
    """Per-channel mean and std of raw images (pixel units), e.g. from the train split.

    Example:

    >>> m, s = compute_mean_std(np.stack([np.zeros((2, 2, 1)), np.full((2, 2, 1), 2.0)]))
    >>> m.tolist(), s.tolist()
    ([1.0], [1.0])
    """
    arr = _check(images).astype(np.float64)
    return arr.mean(axis=(0, 1, 2)), arr.std(axis=(0, 1, 2))


def _resolve(preprocessing, input_shape, padding):
    pre = dict(preprocessing or {})
    input_shape = input_shape or pre.get("input_shape")
    padding = padding or pre.get("padding", "zero")
    return (tuple(input_shape) if input_shape is not None else None), padding


def from_arrays(images, labels, hierarchy, batch_size=128, shuffle=False, augment=False,
                seed=0, input_shape=None, padding=None, preprocessing=None, cache=True,
                drop_remainder=False):
    """A tf.data pipeline from NumPy arrays.

    Args:
        images: `(N, H, W[, C])` numeric array of raw pixels.
        labels: 1-D finest-level ids (completed to paths) or `(N, depth)` rows.
        hierarchy: the `Hierarchy`.
        batch_size, shuffle, seed: batching and deterministic shuffling.
        augment: pad 4 + random crop + horizontal flip (training only).
        input_shape / padding / preprocessing: the model's input shape and
            padding mode, or `model.preprocessing` holding both.

    Example:

    >>> tree = Hierarchy.fashion_mnist()
    >>> ds = from_arrays(np.zeros((4, 28, 28), "uint8"), [0, 1, 2, 9], tree, batch_size=2,
    ...                  input_shape=(32, 32, 3))
    >>> x, y = next(iter(ds))
    >>> tuple(x.shape), y.numpy().tolist()
    ((2, 32, 32, 3), [[0, 0, 0], [0, 1, 1]])
    """
    import tensorflow as tf

    hierarchy = Hierarchy.from_dict(hierarchy)
    images = _check(images)
    labels = np.asarray(labels)
    labels = hierarchy.complete(labels) if labels.ndim == 1 else hierarchy.validate_labels(labels)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} label rows.")
    input_shape, padding = _resolve(preprocessing, input_shape, padding)
    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
    if input_shape is not None:
        ds = ds.map(lambda x, y: (tf_fit_to_shape(x, input_shape), y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(len(images), 20000), seed=seed, reshuffle_each_iteration=True)
    if augment:
        ds = ds.enumerate().map(
            lambda i, xy: (pad_crop_flip(xy[0], tf.stack([tf.cast(seed, tf.int64), i]),
                                         padding=padding), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def load_arrays(name, data_dir=None, hierarchy=None, source="auto") -> dict:
    """NumPy arrays of a dataset: x_train, y_train, x_test, y_test (+ hierarchy, source).

    `y_*` are int32 label paths. Fashion-MNIST search order: `data_dir`, the
    Debian package (/usr/share/datasets/fashion-mnist), Keras' cache, then the
    bundled subset (`source="bundled"` forces it, `"full"` refuses it).

    Example:

    >>> d = load_arrays("fashion_mnist", source="bundled")
    >>> d["x_train"].shape, d["y_train"].shape, d["source"]
    ((10000, 28, 28, 1), (10000, 3), 'bundled')
    """
    if name == "fashion_mnist":
        from hier_keras.data.fashion_mnist import load_fashion_mnist

        tree = Hierarchy.from_dict(hierarchy) if hierarchy is not None else Hierarchy.fashion_mnist()
        arrays, where = load_fashion_mnist(data_dir, source)
        out = {k: v for k, v in arrays.items()}
        for split in ("train", "test"):
            y = np.asarray(out[f"y_{split}"])
            out[f"y_{split}"] = tree.complete(y.astype(np.int64)) if y.ndim == 1 else y.astype(np.int32)
    elif name == "cifar100":
        from hier_keras.data.cifar100 import load_cifar100

        tree = Hierarchy.from_dict(hierarchy) if hierarchy is not None else Hierarchy.cifar100()
        out, where = load_cifar100(tree, data_dir, source if source != "full" else "auto")
    else:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {DATASETS} or use "
                         "`from_arrays` / `image_folder`.")
    out["hierarchy"], out["source"] = tree, where
    return out


def load(name, batch_size=128, augment=False, hierarchy=None, input_shape=None, data_dir=None,
         source="auto", padding=None, seed=0, shuffle=True, cache=True, return_info=False,
         preprocessing=None, train_limit=None):
    """Train and test tf.data pipelines of a dataset.

    Args:
        name: "fashion_mnist" or "cifar100".
        batch_size: batch size of both splits.
        augment: pad-crop-flip augmentation of the train split.
        hierarchy: the tree (defaults to the dataset's built-in one).
        input_shape: the model's input shape (images are fitted to it).
        preprocessing: `model.preprocessing`: supplies input shape and padding.
        data_dir / source: where the data comes from (see `load_arrays`).
        seed: shuffling and augmentation seed.
        return_info: also return a dict with source, sizes, hierarchy and the
            train split's per-channel mean/std.
        train_limit: use only the first N training images.

    Example:

    >>> train, test = load("fashion_mnist", batch_size=32, source="bundled")
    >>> x, y = next(iter(train))
    >>> tuple(x.shape), tuple(y.shape)
    ((32, 28, 28, 1), (32, 3))
    """
    d = load_arrays(name, data_dir=data_dir, hierarchy=hierarchy, source=source)
    if train_limit:
        d["x_train"], d["y_train"] = d["x_train"][:train_limit], d["y_train"][:train_limit]
    input_shape, padding = _resolve(preprocessing, input_shape, padding)
    common = dict(batch_size=batch_size, seed=seed, input_shape=input_shape, padding=padding,
                  cache=cache)
    train = from_arrays(d["x_train"], d["y_train"], d["hierarchy"], shuffle=shuffle,
                        augment=augment, **common)
    test = from_arrays(d["x_test"], d["y_test"], d["hierarchy"], shuffle=False, augment=False,
                       **common)
    if not return_info:
        return train, test
    mean, std = compute_mean_std(d["x_train"])
    info = {"source": d["source"], "train_size": len(d["x_train"]),
            "test_size": len(d["x_test"]), "hierarchy": d["hierarchy"],
            "mean": mean.tolist(), "std": std.tolist()}
    return train, test, info
