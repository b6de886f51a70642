"""tf.data pipelines yielding `(images, labels)` per the package contract.

Images are float32 *raw* pixel values (models normalise internally), fitted to
the model's input shape; labels are int32 `(batch, depth)` paths with -1 where
unknown. Shuffling and augmentation are deterministic given `seed`.
"""

from __future__ import annotations

import numpy as np

from hier_keras.data.arrays import compute_mean_std, from_arrays, resolve_preprocessing
from hier_keras.hierarchy import Hierarchy

DATASETS = ("fashion_mnist", "cifar100")


def load_arrays(name, data_dir=None, hierarchy=None, source="auto") -> dict:
    """NumPy arrays of a dataset, with label paths, the hierarchy and where they came from.

    Nothing is downloaded. Fashion-MNIST (`source="auto"`) is read from, in
    order: `data_dir` (a folder with the four idx files, `.gz` or not), the
    Debian package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist),
    Keras' cache (~/.keras/datasets/fashion-mnist), else the bundled
    stratified subset (1,000 train + 200 test images per class).
    `source="bundled"` forces the subset, `source="full"` refuses it.
    CIFAR-100 comes from a `cifar-100-python` pickle folder (`data_dir`, then
    ~/.keras/datasets/cifar-100-python) or tfds (`source="tfds"`, with
    `data_dir` as tfds' data dir).

    Args:
        name: `"fashion_mnist"` or `"cifar100"`.
        data_dir: optional folder to read from (see above).
        hierarchy: the tree; defaults to `Hierarchy.fashion_mnist()` /
            `Hierarchy.cifar100()`.
        source: `"auto"`, `"full"`, `"bundled"` (Fashion-MNIST), `"pickle"`,
            `"tfds"` (CIFAR-100).

    Returns:
        dict with `x_train`, `x_test` (uint8 `(N, H, W, C)`), `y_train`,
        `y_test` (int32 `(N, depth)` full label paths), `hierarchy` and
        `source` (`"folder:<path>"`, `"debian"`, `"keras_cache"`,
        `"bundled"` or `"tfds"`).

    Example:

    >>> d = load_arrays("fashion_mnist", source="bundled")
    >>> d["x_train"].shape, d["y_train"].shape, d["source"]
    ((10000, 28, 28, 1), (10000, 3), 'bundled')
    """
    if name == "fashion_mnist":
        from hier_keras.data.fashion_mnist import load_fashion_mnist

        tree = Hierarchy.coerce(hierarchy) if hierarchy is not None else Hierarchy.fashion_mnist()
        arrays, where = load_fashion_mnist(data_dir, source)
        out = dict(arrays)
        for split in ("train", "test"):
            y = np.asarray(out[f"y_{split}"]).astype(np.int64)
            out[f"y_{split}"] = np.asarray(
                tree.complete(y) if y.ndim == 1 else tree.validate_labels(y), np.int32)
    elif name == "cifar100":
        from hier_keras.data.cifar100 import load_cifar100

        tree = Hierarchy.coerce(hierarchy) if hierarchy is not None else Hierarchy.cifar100()
        out, where = load_cifar100(tree, data_dir, source if source != "full" else "auto")
    else:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {DATASETS} or use "
                         "`hk.data.from_arrays` / `hk.data.image_folder` for your own data.")
    out["hierarchy"], out["source"] = tree, where
    return out


def stratified_subset(labels, fraction, seed=0) -> np.ndarray:
    """Indices of a deterministic `fraction` of each finest known class, in order.

    Example:

    >>> stratified_subset(np.array([[0, 0], [0, 0], [1, 1], [1, 1]]), 0.5).tolist()
    [0, 2]
    """
    labels = np.asarray(labels)
    if not 0 < fraction <= 1:
        raise ValueError(f"train_fraction must lie in (0, 1]; received {fraction}.")
    known = labels >= 0
    depth = known.sum(1)
    last = np.where(depth > 0, labels[np.arange(len(labels)), np.maximum(depth - 1, 0)], -1)
    keys = depth.astype(np.int64) * 1_000_003 + last
    rng = np.random.default_rng(seed)
    picked = []
    for key in np.unique(keys):
        idx = rng.permutation(np.flatnonzero(keys == key))
        picked.append(idx[: max(1, int(round(fraction * len(idx))))])
    return np.sort(np.concatenate(picked))


def check_train_limit(train_limit):
    """`train_limit` must be `None` or an int >= 1 (a `ValueError` otherwise).

    Example:

    >>> check_train_limit(-5)
    Traceback (most recent call last):
    ...
    ValueError: train_limit must be an int >= 1 (the number of training images to keep) or None; received -5.
    """
    import numbers

    if train_limit is None:
        return None
    if isinstance(train_limit, bool) or not isinstance(train_limit, numbers.Integral) \
            or train_limit < 1:
        raise ValueError(
            "train_limit must be an int >= 1 (the number of training images to keep) or None; "
            f"received {train_limit!r}."
        )
    return int(train_limit)


def load(name, batch_size=128, augment=False, hierarchy=None, input_shape=None, data_dir=None,
         source="auto", padding=None, seed=0, shuffle=True, cache=True, return_info=False,
         train_fraction=None, preprocessing=None, train_limit=None):
    """Train and test tf.data pipelines of a dataset, shaped for a model.

    Both yield `(images float32 raw [0, 255] (B, H, W, C), labels int32
    (B, depth))`; the train split is shuffled (and augmented), the test
    split is not.

    Args:
        name: `"fashion_mnist"` or `"cifar100"`.
        batch_size: int. Batch size of both splits. Defaults to `128`.
        augment: bool. Pad 4 px + random crop + horizontal flip of the train
            split (Guo et al. 2018). Defaults to `False`.
        hierarchy: the tree. Defaults to the dataset's built-in one.
        input_shape: the model's `(H, W, C)`; images are zero-padded centred
            (28 -> 32), resized otherwise, and channels repeated 1 -> 3 or
            averaged 3 -> 1. Defaults to the data's own shape.
        data_dir, source: where the data comes from (see `load_arrays`).
        padding: `"zero"` or `"reflect"` augmentation padding. Defaults to
            `preprocessing["padding"]`, else `"zero"`.
        seed: int. Shuffle, augmentation and `train_fraction` seed.
        shuffle, cache: tf.data options of the train split (see `from_arrays`).
        return_info: bool. Also return a dict with `source`, `train_size`,
            `test_size`, `hierarchy` and the train split's per-channel
            `mean` / `std` (pixel units, channels as in `input_shape`,
            spatial padding not counted).
        train_fraction: float in (0, 1]. Keep a stratified, seeded share of
            every class of the train split.
        preprocessing: a model's `model.preprocessing` dict (input_shape,
            mean, std, padding); supplies `input_shape` and `padding` when
            they are not given.
        train_limit: int >= 1 or None. Keep only the first N training
            images (after `train_fraction`); anything else is a `ValueError`.

    Example:

    >>> train, test = load("fashion_mnist", batch_size=32, source="bundled")
    >>> x, y = next(iter(train))
    >>> tuple(x.shape), tuple(y.shape)
    ((32, 28, 28, 1), (32, 3))
    >>> train, test, info = load("fashion_mnist", source="bundled", train_fraction=0.1,
    ...                          preprocessing={"input_shape": (32, 32, 3)}, return_info=True)
    >>> info["train_size"], tuple(next(iter(test))[0].shape)
    (1000, (128, 32, 32, 3))
    """
    check_train_limit(train_limit)
    input_shape, padding = resolve_preprocessing(preprocessing, input_shape, padding)
    d = load_arrays(name, data_dir=data_dir, hierarchy=hierarchy, source=source)
    if train_fraction is not None:
        keep = stratified_subset(d["y_train"], train_fraction, seed)
        d["x_train"], d["y_train"] = d["x_train"][keep], d["y_train"][keep]
    if train_limit is not None:
        d["x_train"], d["y_train"] = d["x_train"][:train_limit], d["y_train"][:train_limit]
    common = dict(batch_size=batch_size, seed=seed, input_shape=input_shape, padding=padding,
                  cache=cache)
    train = from_arrays(d["x_train"], d["y_train"], d["hierarchy"], shuffle=shuffle,
                        augment=augment, **common)
    test = from_arrays(d["x_test"], d["y_test"], d["hierarchy"], shuffle=False, augment=False,
                       **common)
    if not return_info:
        return train, test
    x = d["x_train"]
    if input_shape is not None and x.shape[-1] == 3 and input_shape[-1] == 1:
        x = x.mean(axis=-1, keepdims=True, dtype=np.float32)
    mean, std = compute_mean_std(x)
    if input_shape is not None and len(mean) == 1 and input_shape[-1] == 3:
        mean, std = np.repeat(mean, 3), np.repeat(std, 3)
    info = {"source": d["source"], "train_size": len(d["x_train"]),
            "test_size": len(d["x_test"]), "hierarchy": d["hierarchy"],
            "mean": mean.tolist(), "std": std.tolist()}
    return train, test, info
