"""Fashion-MNIST: idx files from a folder, the Debian package, Keras' cache, or the bundled subset.

Xiao, Rasul & Vollgraf (2017), "Fashion-MNIST: a Novel Image Dataset for
Benchmarking Machine Learning Algorithms" (MIT license, Zalando SE).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
KERAS_CACHE_DIR = os.path.join(os.path.expanduser("~"), ".keras", "datasets", "fashion-mnist")
BUNDLED = Path(__file__).resolve().parent / "bundled" / "fashion_mnist_subset.npz"
FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def read_idx(path) -> np.ndarray:
    """Read one idx file (gzipped or raw) into a NumPy array.

    Example:

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "l-idx1-ubyte")
    >>> _ = open(p, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]))
    >>> read_idx(p).tolist()
    [7, 9]
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ValueError(f"{path} is not an unsigned-byte idx file (bad magic number).")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    arr = np.frombuffer(data, np.uint8, offset=offset)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(dims))} values, got {arr.size}.")
    return arr.reshape(dims)


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    return None


def has_idx_files(folder) -> bool:
    """Whether `folder` holds the four Fashion-MNIST idx files (`.gz` or raw).

    Example:

    >>> has_idx_files("/nonexistent")
    False
    """
    return folder is not None and all(_find(folder, s) for s in FILES.values())


def read_folder(folder) -> dict:
    """The four Fashion-MNIST arrays from a folder of idx files (`.gz` or raw).

    Images come back uint8 `(N, 28, 28, 1)`, labels uint8 `(N,)` class ids.

    Example:

    >>> read_folder("/nonexistent")
    Traceback (most recent call last):
    ...
    ValueError: Folder '/nonexistent' lacks the Fashion-MNIST idx files ...
    """
    if not has_idx_files(folder):
        missing = [s for s in FILES.values() if not _find(folder, s)]
        raise ValueError(
            f"Folder {folder!r} lacks the Fashion-MNIST idx files {missing} (with or "
            "without .gz)."
        )
    out = {key: read_idx(_find(folder, stem)) for key, stem in FILES.items()}
    for split in ("train", "test"):
        x, y = out[f"x_{split}"], out[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{folder}: the {split} idx files disagree: images {x.shape}, labels {y.shape}."
            )
    out["x_train"] = out["x_train"][..., None]
    out["x_test"] = out["x_test"][..., None]
    return out


def read_bundled() -> dict:
    """The stratified subset shipped in the package (1,000 train + 200 test per class).

    Made by `scripts/make_bundled_subset.py` from the full data (seed 0).

    Example:

    >>> d = read_bundled()
    >>> d["x_train"].shape, d["x_test"].shape, np.bincount(d["y_test"]).tolist()[:3]
    ((10000, 28, 28, 1), (2000, 28, 28, 1), [200, 200, 200])
    """
    if not BUNDLED.exists():
        raise ValueError(
            f"The bundled Fashion-MNIST subset {BUNDLED} is missing; reinstall hier_keras "
            "or rebuild it with scripts/make_bundled_subset.py."
        )
    with np.load(BUNDLED) as f:
        return {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}


def load_fashion_mnist(data_dir=None, source="auto") -> tuple[dict, str]:
    """`(arrays, source)` following the search order of `hk.data.load_arrays`.

    Order for `source="auto"`: `data_dir`, the Debian package
    (`DEBIAN_DIR`), Keras' cache (`KERAS_CACHE_DIR`), the bundled subset.
    `"bundled"` forces the subset; `"full"` raises when no full copy exists.

    Example:

    >>> arrays, where = load_fashion_mnist(source="bundled")
    >>> where, arrays["y_train"].shape
    ('bundled', (10000,))
    """
    if source not in ("auto", "full", "bundled"):
        raise ValueError(f"Unknown source {source!r}; use 'auto', 'full' or 'bundled'.")
    if data_dir is not None:
        if not os.path.isdir(data_dir):
            raise ValueError(f"data_dir {data_dir!r} is not a folder.")
        return read_folder(data_dir), f"folder:{data_dir}"
    if source == "bundled":
        return read_bundled(), "bundled"
    for folder, name in ((DEBIAN_DIR, "debian"), (KERAS_CACHE_DIR, "keras_cache")):
        if has_idx_files(folder):
            return read_folder(folder), name
    if source == "full":
        raise ValueError(
            "The full Fashion-MNIST was not found. Install it with `apt-get install -y "
            f"dataset-fashion-mnist` (files in {DEBIAN_DIR}), put the four idx files in "
            f"{KERAS_CACHE_DIR}, or pass data_dir=<folder>."
        )
    return read_bundled(), "bundled"
