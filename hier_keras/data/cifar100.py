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


# The only globals a CIFAR-100 pickle needs: NumPy arrays (NumPy 1.x or 2.x, any protocol) and
# `_codecs.encode`, which protocol-2 pickles from Python 3 use for bytes. Dicts, lists, bytes,
# str and int need no global at all.
SAFE_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
})


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only `SAFE_GLOBALS`; anything else is refused."""

    def find_class(self, module, name):
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")


def _unpickle(path):
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f, encoding="bytes").load()
    except OSError as err:
        raise ValueError(f"Cannot read the CIFAR-100 pickle {str(path)!r}: {err}") from err
    except pickle.UnpicklingError as err:
        if "is not allowed" in str(err):
            raise ValueError(
                f"Refusing to load {str(path)!r}: it is not a plain CIFAR-100 pickle ({err}; "
                "only dicts, lists, bytes, str, int and NumPy arrays are accepted). A pickle "
                "can run code when loaded; use the original cifar-100-python.tar.gz."
            ) from None
        raise ValueError(f"{str(path)!r} is not a CIFAR-100 pickle ({err}).") from err
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as err:
        raise ValueError(f"{str(path)!r} is not a CIFAR-100 pickle (unreadable: {err!r}).") from err


def read_pickle_split(path):
    """`(images uint8 NHWC, fine ids, coarse ids)` of one original CIFAR-100 pickle.

    The pickle holds `b"data"` (N, 3072) uint8 rows in CHW order,
    `b"fine_labels"` and `b"coarse_labels"`.

    Security: unpickling runs whatever the file tells it to, so a pickle from an
    untrusted source could execute code. This reader uses a restricted unpickler
    that only resolves the NumPy array constructors (`SAFE_GLOBALS`); dicts,
    lists, bytes, str and int need nothing more. Any other global (e.g.
    `os.system`) is refused with a `ValueError` before anything is called.
    Still prefer the official archive (or tfds).

    Example:

    >>> import os, pickle, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "test")
    >>> d = {b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [4, 30], b"coarse_labels": [0, 0]}
    >>> pickle.dump(d, open(p, "wb"))
    >>> x, fine, coarse = read_pickle_split(p)
    >>> x.shape, fine.tolist()
    ((2, 32, 32, 3), [4, 30])
    """
    d = _unpickle(path)
    if not isinstance(d, dict):
        raise ValueError(f"{path} is not a CIFAR-100 pickle (a {type(d).__name__}, not a dict).")
    try:
        data = np.asarray(d[b"data"], np.uint8)
        fine = np.asarray(d[b"fine_labels"], np.int64)
        coarse = np.asarray(d[b"coarse_labels"], np.int64)
    except KeyError as err:
        raise ValueError(f"{path} is not a CIFAR-100 pickle (missing {err}).") from None
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path} is not a CIFAR-100 pickle ({err}).") from None
    if data.ndim != 2 or data.shape[1] != 3072 or not len(data) == len(fine) == len(coarse):
        raise ValueError(
            f"{path}: expected (N, 3072) image rows with N fine and coarse labels; received "
            f"data {data.shape}, {len(fine)} fine and {len(coarse)} coarse labels."
        )
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), fine, coarse


def _pickle_folder(data_dir):
    if data_dir is not None and not os.path.isdir(data_dir):
        raise ValueError(f"data_dir {data_dir!r} is not a folder.")
    candidates = [data_dir, os.path.join(data_dir, "cifar-100-python")] if data_dir else []
    for folder in candidates + [KERAS_CACHE_DIR]:
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
    """`(arrays, source)` of CIFAR-100 with `[coarse, fine]` label paths.

    `source="auto"` reads a `cifar-100-python` pickle folder (`data_dir`,
    `data_dir/cifar-100-python`, then Keras' cache), else tfds
    (`tfds.load("cifar100", data_dir=data_dir, download=False)`);
    `"pickle"` / `"tfds"` force one. The coarse labels must agree with
    `tree` (`Hierarchy.cifar100()`). Source strings: `"folder:<path>"`,
    `"keras_cache"` or `"tfds"`.

    Example:

    >>> from hier_keras.hierarchy import Hierarchy
    >>> load_cifar100(Hierarchy.cifar100(), source="download")
    Traceback (most recent call last):
    ...
    ValueError: Unknown CIFAR-100 source 'download'; use 'auto', 'pickle' or 'tfds'.
    """
    if source not in ("auto", "pickle", "tfds"):
        raise ValueError(f"Unknown CIFAR-100 source {source!r}; use 'auto', 'pickle' or 'tfds'.")
    folder = _pickle_folder(data_dir) if source in ("auto", "pickle") else None
    if folder:
        out = {}
        for split in ("train", "test"):
            x, fine, coarse = read_pickle_split(os.path.join(folder, split))
            out[f"x_{split}"], out[f"y_{split}"] = x, _paths(tree, fine, coarse, folder)
        where = "keras_cache" if folder == KERAS_CACHE_DIR else f"folder:{folder}"
        return out, where
    if source == "pickle":
        raise ValueError(
            f"No cifar-100-python folder with 'train' and 'test' pickles in {data_dir!r} or "
            f"{KERAS_CACHE_DIR}. Download and extract "
            "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz and pass its folder as "
            "data_dir."
        )
    return _load_tfds(tree, data_dir), "tfds"


def _load_tfds(tree, data_dir):
    import tensorflow_datasets as tfds

    out = {}
    for split in ("train", "test"):
        try:
            ds = tfds.load("cifar100", split=split, data_dir=data_dir, download=False)
        except Exception as err:  # tfds raises several types for "not prepared"
            raise ValueError(
                "CIFAR-100 was not found: no cifar-100-python pickle folder (data_dir, "
                f"{KERAS_CACHE_DIR}) and tfds could not load it offline ({err}). Nothing is "
                "downloaded here: fetch https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz "
                "(or run `tfds build cifar100`) on a connected machine, then pass the extracted "
                "folder (or the tfds data dir) as data_dir."
            ) from err
        parts = list(tfds.as_numpy(ds.batch(10000)))
        cat = {k: np.concatenate([p[k] for p in parts]) for k in ("image", "label", "coarse_label")}
        out[f"x_{split}"] = cat["image"]
        out[f"y_{split}"] = _paths(tree, cat["label"], cat["coarse_label"], "tfds")
    return out
