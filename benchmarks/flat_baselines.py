"""Flat baselines and Guo et al.'s CNN-based generators on full Fashion-MNIST (3-level tree).

Trains, on the same backbone and budget: coarse-specific, fine-specific (single-level
heads; Guo et al. 2018 Table 4) and the three CNN-based generators of Fig. 2
(serial coarse-to-fine, serial fine-to-coarse, parallel; Table 2). Reports every
level's accuracy, exact match, consistency, hF1 and mistake severity on the full
test set, mean +- std over seeds, at the final epoch (cosine-decayed LR, no
checkpoint picked on the test set).

    python benchmarks/flat_baselines.py --epochs 6 --seeds 3

Writes benchmarks/results/flat_baselines<tag>.csv and .md.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

HEADS = {
    "coarse_specific": {"head": "single", "level": "coarse"},
    "fine_specific": {"head": "single", "level": "fine"},
    "coarse_to_fine": {"head": "coarse_to_fine"},
    "fine_to_coarse": {"head": "fine_to_coarse"},
    "parallel": {"head": "parallel"},
}
METRICS = ["coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match",
           "consistency", "hF1", "mistake_severity"]


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=6)
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--models", default=",".join(HEADS))
    args = p.parse_args(argv)

    import pandas as pd

    import hier_keras as hk

    data = harness.load_data(args.source, args.train_limit)
    rows = []
    for seed in range(args.seeds):
        for name in args.models.split(","):
            row, _ = harness.train_and_evaluate(
                lambda: hk.models.HierarchicalCNN.from_preset(args.preset, **HEADS[name]), data,
                seed=seed, epochs=args.epochs, batch_size=args.batch_size,
                steps_per_epoch=args.steps_per_epoch, verbose=args.verbose)
            rows.append({"model": name, "seed": seed, **row})
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    metrics = [m for m in METRICS if m in df.columns]
    notes = (f"HierarchicalCNN preset `{args.preset}`, {args.epochs} epochs, batch "
             f"{args.batch_size}, data source: {data['source']} ({len(data['x_train'])} train / "
             f"{len(data['x_test'])} test images). Accuracies in %, mean +- std over seeds; "
             "mistake severity = mean LCA height of wrong fine predictions. Levels a "
             "single-level model does not predict are empty.")
    harness.write_results(f"flat_baselines{args.tag}", df,
                          harness.mean_std_table(df, ["model"], metrics),
                          harness.command_line(__file__, argv), notes)


if __name__ == "__main__":
    main()
