"""Guo et al. 2018 Sec. 4.2 / Fig. 8 / Table 7 at our scale: training with coarse-only data.

The train pool is split into S_coarse (50%: only the coarse label kept) and S_fine
(10 / 20 / 50% of the pool: full paths). Three CNN-RNN trainings per split:

- `S_fine`: S_fine alone;
- `S_fine + S_coarse^-`: `hier_keras.training.pseudo_label_fit`: train on S_fine,
  predict the finer labels of S_coarse with the true coarse label fed as the
  first step (CNN-RNN*), retrain on both;
- `S_fine + S_coarse^+`: S_coarse with its true fine labels (the upper bound).

Reports fine / exact-match accuracy on the full test set (tree-constrained
decoding, final epoch) and the share of the S_fine-to-upper-bound gap closed.

    python benchmarks/coarse_only.py --train-limit 20000 --epochs 4 --seeds 2
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

SCORES = ["fine_accuracy", "exact_match"]


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=4, seeds=2)
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--fine-fractions", default="0.1,0.2,0.5")
    p.add_argument("--coarse-fraction", type=float, default=0.5)
    args = p.parse_args(argv)

    import keras
    import numpy as np
    import pandas as pd

    import hier_keras as hk
    from hier_keras.training import pseudo_label_fit

    data = harness.load_data(args.source, args.train_limit)
    tree = hk.Hierarchy.fashion_mnist()
    x, y = data["x_train"], data["y_train"]
    test = (data["x_test"], data["y_test"])

    def build():
        return hk.models.CNNRNN.from_preset(args.preset)

    def score(model):
        row = harness.evaluate_row(model, test)
        return {k: row[k] for k in SCORES}

    def trained_on(idx, seed):
        subset = dict(data, x_train=x[idx], y_train=y[idx])
        row, _ = harness.train_and_evaluate(build, subset, seed=seed, epochs=args.epochs,
                                            batch_size=args.batch_size, evaluate=score)
        return {k: row[k] for k in SCORES}

    rows = []
    for seed in range(args.seeds):
        for frac in [float(f) for f in args.fine_fractions.split(",")]:
            labels, is_fine, keep = hk.data.partial_labels(
                y, tree, fine_fraction=frac, coarse_fraction=args.coarse_fraction, seed=seed)
            fine_idx = np.flatnonzero(keep & is_fine)
            coarse_idx = np.flatnonzero(keep & ~is_fine)
            base = {"fine_fraction": frac, "coarse_fraction": args.coarse_fraction, "seed": seed,
                    "n_fine": len(fine_idx), "n_coarse": len(coarse_idx)}
            rows.append({**base, "method": "S_fine", **trained_on(fine_idx, seed)})
            keras.utils.set_random_seed(seed)
            out = pseudo_label_fit(build, x[fine_idx], y[fine_idx], x[coarse_idx],
                                   labels[coarse_idx], epochs=args.epochs,
                                   batch_size=args.batch_size, seed=seed,
                                   y_coarse_true=y[coarse_idx])
            rows.append({**base, "method": "S_fine + S_coarse^- (pseudo)",
                         "pseudo_label_accuracy": out["pseudo_label_accuracy"],
                         **score(out["model"])})
            both = np.concatenate([fine_idx, coarse_idx])
            rows.append({**base, "method": "S_fine + S_coarse^+ (true)",
                         **trained_on(both, seed)})
            print(rows[-3:], flush=True)
    df = pd.DataFrame(rows)
    gap = []
    for (frac, seed), g in df.groupby(["fine_fraction", "seed"]):
        acc = dict(zip(g["method"], g["fine_accuracy"]))
        lo, mid, hi = acc["S_fine"], acc["S_fine + S_coarse^- (pseudo)"], acc["S_fine + S_coarse^+ (true)"]
        gap.append({"fine_fraction": frac, "seed": seed,
                    "gap_closed": (mid - lo) / (hi - lo) if hi != lo else float("nan")})
    gap = pd.DataFrame(gap)
    table = harness.mean_std_table(df, ["fine_fraction", "method"], SCORES)
    gap_table = harness.mean_std_table(gap, ["fine_fraction"], ["gap_closed"])
    notes = (f"CNN-RNN preset `{args.preset}`, {args.epochs} epochs per training, pool of "
             f"{len(x)} train images from {data['source']}, |S_coarse| = "
             f"{args.coarse_fraction:.0%} of the pool; full test set; mean +- std over "
             f"{args.seeds} seeds.\n\nShare of the gap closed by pseudo-labelling "
             f"(pseudo - S_fine) / (true - S_fine), in %:\n\n{gap_table}")
    harness.write_results(f"coarse_only{args.tag}", df, table,
                          harness.command_line(__file__, argv), notes)
    _plot(df, harness.result_path(f"coarse_only{args.tag}.png"))


def _plot(df, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method, g in df.groupby("method", sort=False):
        stats = g.groupby("fine_fraction")["fine_accuracy"].agg(["mean", "std"]).fillna(0)
        ax.errorbar(stats.index * 100, stats["mean"] * 100, yerr=stats["std"] * 100,
                    marker="o", capsize=3, label=method)
    ax.set_xlabel("|S_fine| (% of the train pool)")
    ax.set_ylabel("fine accuracy (%)")
    ax.set_title("CNN-RNN with coarse-only data (Fashion-MNIST)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
