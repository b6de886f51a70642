"""Does MinPoolNet win once every model is trained to its plateau?

Bundled subset (10,000 train / 2,000 test), preset widths, batch 128; each method trained E
epochs of its *own* training set (cosine to 0): the fine-only baseline on S_fine, the oracle on
every image with its true labels, MinPoolNet on S_fine + S_coarse. One JSON line per run.

    python benchmarks/explore/minpoolnet_plateau.py METHODS EPOCHS SEEDS [REDUCTION] [FINE_FRACTION]
    python benchmarks/explore/minpoolnet_plateau.py baseline,minpool 10,30 0 labelled 0.5
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import harness  # noqa: E402
from minpoolnet import method_data, train_steps, weak_split  # noqa: E402

B = 128


def main(argv=None):
    import tensorflow as tf

    from hier_keras.models.minpoolnet import MinPoolNet

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    argv = sys.argv[1:] if argv is None else argv
    methods = argv[0].split(",")
    epochs = [int(e) for e in argv[1].split(",")]
    seeds = [int(s) for s in argv[2].split(",")]
    red = argv[3] if len(argv) > 3 else "labelled"
    ff = float(argv[4]) if len(argv) > 4 else 0.5
    d = harness.load_data("bundled")
    tree, x, y = d["hierarchy"], d["x_train"], d["y_train"]
    for seed in seeds:
        labels, is_fine, _ = weak_split(y, tree, ff, 1 - ff, seed)
        for e in epochs:
            for name in methods:
                images, lab, fine = method_data(name, x, y, labels, is_fine)
                steps = e * len(images) // B
                t = time.time()
                row, _ = train_steps(
                    lambda: MinPoolNet.from_preset(
                        "small_fashion_mnist", loss_reduction=red,
                        coarse_loss_weight=0.0 if name == "baseline" else 1.0),
                    images, lab, fine, tree, steps, B, seed, (d["x_test"], d["y_test"]))
                print(json.dumps(dict(method=name, E=e, seed=seed, red=red, ff=ff, steps=steps,
                                      fine=round(row["fine_accuracy"], 4),
                                      s=round(time.time() - t))), flush=True)


if __name__ == "__main__":
    main()
