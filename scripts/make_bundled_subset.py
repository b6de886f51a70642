"""Build hier_keras/data/bundled/fashion_mnist_subset.npz from the full Fashion-MNIST.

A stratified, deterministic subset: the first 1,000 train and 200 test images of
each class after a seeded shuffle (10,000 + 2,000 images, uint8, compressed),
so the demo and the tests run with no download.

    apt-get install -y dataset-fashion-mnist
    python scripts/make_bundled_subset.py
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hier_keras.data.fashion_mnist import BUNDLED, DEBIAN_DIR, read_folder  # noqa: E402

PER_CLASS = {"train": 1000, "test": 200}


def main(folder=DEBIAN_DIR, seed=0):
    full = read_folder(folder)
    rng = np.random.default_rng(seed)
    out = {}
    for split, k in PER_CLASS.items():
        x, y = full[f"x_{split}"], full[f"y_{split}"]
        idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c in range(10)])
        idx = rng.permutation(idx)
        out[f"x_{split}"], out[f"y_{split}"] = x[idx], y[idx].astype(np.uint8)
    BUNDLED.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(BUNDLED, **out)
    print(f"wrote {BUNDLED} ({BUNDLED.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(*sys.argv[1:])
