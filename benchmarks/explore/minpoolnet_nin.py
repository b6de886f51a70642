"""The fine-only model vs MinPoolNet (equal steps) on another base net, e.g. the NIN preset.

Bundled subset, PER images per class, fine:coarse fractions FF:CF of that pool, batch 64.

    python benchmarks/explore/minpoolnet_nin.py PRESET STEPS PER FF CF SEEDS
    python benchmarks/explore/minpoolnet_nin.py nin_fashion_mnist 1000 600 0.1667 0.8333 1,2
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import harness  # noqa: E402
from minpoolnet import class_subset, method_data, train_steps, weak_split  # noqa: E402


def main(argv=None):
    from hier_keras.models.minpoolnet import MinPoolNet

    argv = sys.argv[1:] if argv is None else argv
    preset, steps, per, ff, cf = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), float(argv[4])
    d = harness.load_data("bundled")
    tree, x, y = d["hierarchy"], d["x_train"], d["y_train"]
    for seed in [int(s) for s in argv[5].split(",")]:
        idx = class_subset(y, per, seed)
        labels, is_fine, keep = weak_split(y[idx], tree, ff, cf, seed)
        xs, ys, labels, is_fine = x[idx][keep], y[idx][keep], labels[keep], is_fine[keep]
        res = {}
        for name, lam in (("baseline", 0.0), ("minpool", 1.0)):
            row, _ = train_steps(
                lambda: MinPoolNet.from_preset(preset, coarse_loss_weight=lam,
                                               loss_reduction="labelled"),
                *method_data("baseline" if lam == 0 else "minpoolnet", xs, ys, labels, is_fine),
                tree, steps, 64, seed, (d["x_test"], d["y_test"]))
            res[name] = round(row["fine_accuracy"], 4)
        print(argv[:5], seed, res, flush=True)


if __name__ == "__main__":
    main()
