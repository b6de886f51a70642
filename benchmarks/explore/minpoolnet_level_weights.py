"""The fine-only model vs MinPoolNet with level weights [1, 1, 1], [0, 1, 1], [0, 0.25, 1].

Bundled subset, 600 images per class, 10%:50% split, 300 steps of batch 64, seeds 0 and 1;
each entry (fine accuracy, medium accuracy).

    python benchmarks/explore/minpoolnet_level_weights.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import harness  # noqa: E402
from minpoolnet import class_subset, method_data, train_steps, weak_split  # noqa: E402

RUNS = (("baseline", [0, 0, 1]), ("mp_110", [1, 1, 1]), ("mp_010", [0, 1, 1]),
        ("mp_0q", [0, 0.25, 1]))


def main(steps=300):
    from hier_keras.models.minpoolnet import MinPoolNet

    d = harness.load_data("bundled")
    tree, x, y = d["hierarchy"], d["x_train"], d["y_train"]
    for seed in (0, 1):
        idx = class_subset(y, 600, seed)
        labels, is_fine, _ = weak_split(y[idx], tree, 0.1 / 0.6, 0.5 / 0.6, seed)
        res = {}
        for name, lw in RUNS:
            method = "baseline" if name == "baseline" else "minpoolnet"
            row, _ = train_steps(
                lambda: MinPoolNet.from_preset("small_fashion_mnist", level_weights=lw,
                                               loss_reduction="labelled"),
                *method_data(method, x[idx], y[idx], labels, is_fine), tree, steps, 64, seed,
                (d["x_test"], d["y_test"]))
            res[name] = (round(row["fine_accuracy"], 4), round(row["medium_accuracy"], 4))
        print(seed, res, flush=True)


if __name__ == "__main__":
    main()
