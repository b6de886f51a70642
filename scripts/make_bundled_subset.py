"""Build hier_keras/data/bundled/fashion_mnist_subset.npz from the full Fashion-MNIST.

A stratified, deterministic subset: for each of the 10 classes, the first 1,000
train and 200 test images after a shuffle seeded with `--seed` (default 0),
then the whole split shuffled with the same generator: 10,000 + 2,000 uint8
images, compressed to about 5.3 MB (under the 6 MB cap, so 1,000 per class
fits and was not reduced). Labels are stored as the dataset's class ids; the
loader completes them to paths of `Hierarchy.fashion_mnist()`. The demo and
the tests run on it with no download. Fashion-MNIST is (c) 2017 Zalando SE,
MIT license (see hier_keras/data/bundled/LICENSE-fashion-mnist.txt).

    apt-get install -y dataset-fashion-mnist
    python scripts/make_bundled_subset.py                 # rewrites the bundled file
    python scripts/make_bundled_subset.py --check         # verifies it instead
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hier_keras.data.fashion_mnist import BUNDLED, DEBIAN_DIR, read_folder  # noqa: E402

PER_CLASS = {"train": 1000, "test": 200}
MAX_BYTES = 6 * 2**20


def make_subset(folder=DEBIAN_DIR, seed=0) -> dict:
    """The subset's arrays (x_train, y_train, x_test, y_test) from a folder of idx files."""
    full = read_folder(folder)
    rng = np.random.default_rng(seed)
    out = {}
    for split, k in PER_CLASS.items():
        x, y = full[f"x_{split}"], full[f"y_{split}"]
        idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c in range(10)])
        idx = rng.permutation(idx)
        out[f"x_{split}"], out[f"y_{split}"] = x[idx], y[idx].astype(np.uint8)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--folder", default=DEBIAN_DIR, help="folder with the four idx files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(BUNDLED))
    p.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = p.parse_args(argv)
    subset = make_subset(args.folder, args.seed)
    out = Path(args.out)
    if args.check:
        with np.load(out) as f:
            same = all(np.array_equal(f[k], v) for k, v in subset.items())
        print(f"{out}: {'identical' if same else 'DIFFERS'}")
        return 0 if same else 1
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **subset)
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1e6:.2f} MB)")
    if size > MAX_BYTES:
        raise SystemExit(f"{out} is {size} bytes, over the {MAX_BYTES}-byte cap: lower PER_CLASS.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
