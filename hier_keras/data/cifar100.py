"""CIFAR-100 (20 superclasses x 5): tfds, or the original python pickles (Keras' format).

Nothing here downloads: with no network, point `data_dir` at a tfds data dir or
at a `cifar-100-python` folder (the extracted `cifar-100-python.tar.gz`,
which is also where Keras' loader caches it: ~/.keras/datasets/cifar-100-python).
"""

from __future__ import annotations

import os
import pickle

import numpy as np

KERAS_CACHE_DIR = os.path.join(os.path.expanduser("~"), ".keras", "datasets", "cifar-100-python")


def read_pickle_split(path):
    """`(images uint8 NHWC, fine ids, coarse ids)` of one original CIFAR-100 pickle."""
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    try:
        data = np.asarray(d[b"data"], np.uint8)
        fine = np.asarray(d[b"fine_labels"], np.int64)
        coarse = np.asarray(d[b"coarse_labels"], np.int64)
    except KeyError as err:
        raise ValueError(f"{path} is not a CIFAR-100 pickle (missing {err}).") from None
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), fine, coarse


def _pickle_folder(data_dir):
    for folder in ([data_dir, os.path.join(data_dir, "cifar-100-python")] if data_dir else []) + [KERAS_CACHE_DIR]:
        if folder and all(os.path.exists(os.path.join(folder, s)) for s in ("train", "test")):
            return folder
    return None


def _paths(tree, fine, coarse, where):
    rows = np.stack([coarse, fine], axis=1)
    try:
        return tree.complete(rows)
    except ValueError as err:
        raise ValueError(f"CIFAR-100 labels from {where} disagree with Hierarchy.cifar100(): {err}") from None


def load_cifar100(tree, data_dir=None, source="auto") -> tuple[dict, str]:
    """CIFAR-100 arrays with label paths, from pickles or tfds."""
    folder = _pickle_folder(data_dir) if source in ("auto", "pickle") else None
    if folder:
        out = {}
        for split in ("train", "test"):
            x, fine, coarse = read_pickle_split(os.path.join(folder, split))
            out[f"x_{split}"], out[f"y_{split}"] = x, _paths(tree, fine, coarse, folder)
        return out, f"pickle:{folder}"
    if source in ("auto", "tfds"):
        return _load_tfds(tree, data_dir), "tfds"
    raise ValueError(f"Unknown CIFAR-100 source {source!r}; use 'auto', 'pickle' or 'tfds'.")


def _load_tfds(tree, data_dir):
    import tensorflow_datasets as tfds

    out = {}
    for split in ("train", "test"):
        try:
            ds = tfds.load("cifar100", split=split, data_dir=data_dir, download=False)
        except Exception as err:  # tfds raises several types for "not prepared"
            raise ValueError(
                "CIFAR-100 was not found: no cifar-100-python pickle folder (data_dir, "
                f"{KERAS_CACHE_DIR}) and tfds could not load it offline ({err}). Download "
                "cifar-100-python.tar.gz on a connected machine and pass its folder as data_dir."
            ) from err
        parts = list(tfds.as_numpy(ds.batch(10000)))
        cat = {k: np.concatenate([p[k] for p in parts]) for k in ("image", "label", "coarse_label")}
        out[f"x_{split}"] = cat["image"]
        out[f"y_{split}"] = _paths(tree, cat["label"], cat["coarse_label"], "tfds")
    return out
