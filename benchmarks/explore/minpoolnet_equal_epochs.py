"""MinPoolNet for E epochs vs the fine-only model for E and 2E epochs (2E: the same steps).

Bundled subset, PER images per class, half of them fine-labelled, seeds 0 and 1. Each output
line: reduction, per-class pool, E, lambda, seed, fine accuracy per run.

    python benchmarks/explore/minpoolnet_equal_epochs.py REDUCTION PER E LAMBDA
    python benchmarks/explore/minpoolnet_equal_epochs.py labelled 300 4 1
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import harness  # noqa: E402
from minpoolnet import class_subset, method_data, train_steps, weak_split  # noqa: E402


def main(argv=None):
    from hier_keras.models.minpoolnet import MinPoolNet

    red, per, epochs, lam = (argv if argv is not None else sys.argv[1:])[:4]
    per, epochs, lam = int(per), int(epochs), float(lam)
    d = harness.load_data("bundled")
    tree, x, y = d["hierarchy"], d["x_train"], d["y_train"]
    for seed in (0, 1):
        idx = class_subset(y, per, seed)
        labels, is_fine, _ = weak_split(y[idx], tree, 0.5, 0.5, seed)
        res = {}
        for name, e in (("baseline", epochs), ("baseline2x", 2 * epochs), ("minpool", epochs)):
            method = "baseline" if name.startswith("baseline") else "minpoolnet"
            images, lab, fine = method_data(method, x[idx], y[idx], labels, is_fine)
            row, _ = train_steps(
                lambda: MinPoolNet.from_preset("small_fashion_mnist", loss_reduction=red,
                                               coarse_loss_weight=0.0 if method == "baseline"
                                               else lam),
                images, lab, fine, tree, e * len(images) // 64, 64, seed,
                (d["x_test"], d["y_test"]))
            res[name] = round(row["fine_accuracy"], 4)
        print(red, per, epochs, lam, seed, res, flush=True)


if __name__ == "__main__":
    main()
