"""Guo et al. 2018 Tables 2 and 4 at our scale, plus CNN-RNN speed ratios.

Trains CNN-RNN on full Fashion-MNIST (3-level tree) with the same backbone, budget
and seeds as `flat_baselines.py`, evaluates the same trained model with greedy,
tree-constrained and beam-5 decoding, and merges the flat-baseline rows into one
table (every level's accuracy, exact match, consistency, hF1, mistake severity;
mean +- std over seeds; final epoch).

    python benchmarks/cnnrnn_tables.py --epochs 6 --seeds 3
    python benchmarks/cnnrnn_tables.py --speed-only

Speed (`--speed-only` or always): ratios timed side by side in one process,
medians of repeats: CNN-RNN training step / fine-specific training step (same
backbone), greedy inference / flat inference, beam-5 / greedy inference.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from flat_baselines import METRICS  # noqa: E402

DECODINGS = ["greedy", "constrained", "beam"]


def speed_ratios(preset, batch_size=128, repeats=9):
    """Median step times of CNN-RNN vs fine-specific, timed interleaved in one run."""
    import numpy as np
    import tensorflow as tf

    import hier_keras as hk

    rng = np.random.default_rng(0)
    flat = hk.models.HierarchicalCNN.from_preset(preset, head="single")
    rnn = hk.models.CNNRNN.from_preset(preset)
    x = rng.uniform(0, 255, (batch_size,) + flat.image_shape).astype("float32")
    y = flat.hierarchy.leaf_paths()[rng.integers(0, 10, batch_size)]
    x, y = tf.constant(x), tf.constant(y)
    fns = {}
    for name, model in (("flat", flat), ("cnnrnn", rnn)):
        model.compile()
        model.make_train_function()
        data = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
        fns[name] = (lambda f=model.train_function, d=data: f(d))
    fns["infer_flat"] = tf.function(lambda: flat(x, training=False))
    for decoding in DECODINGS:
        fns[f"infer_{decoding}"] = tf.function(
            lambda d=decoding: rnn.decode(rnn._features(x, False), d))
    # Each round: one untimed call, then the median of three, every candidate in turn.
    med = harness.time_interleaved(fns, repeats, warmup=0, calls=3, round_warmup=1).seconds
    return {
        "train_step_cnnrnn_over_fine_specific": med["cnnrnn"] / med["flat"],
        "infer_greedy_over_flat": med["infer_greedy"] / med["infer_flat"],
        "infer_constrained_over_flat": med["infer_constrained"] / med["infer_flat"],
        "infer_beam5_over_greedy": med["infer_beam"] / med["infer_greedy"],
    }


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=6)
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--speed-only", action="store_true")
    p.add_argument("--flat-csv", default=str(harness.RESULTS / "flat_baselines.csv"))
    args = p.parse_args(argv)

    import pandas as pd

    import hier_keras as hk

    command = harness.command_line(__file__, argv)
    ratios = speed_ratios(args.preset, args.batch_size)
    speed = pd.DataFrame([{"ratio": k, "value": round(v, 3)} for k, v in ratios.items()])
    harness.write_results(f"cnnrnn_speed{args.tag}", speed, harness.to_markdown(speed), command,
                          f"Preset `{args.preset}`, batch {args.batch_size}; medians of "
                          "interleaved repeats in one process on this CPU. Targets: train <= "
                          "1.15, greedy <= 1.2.")
    if args.speed_only:
        return
    data = harness.load_data(args.source, args.train_limit)
    test = (data["x_test"], data["y_test"])
    rows = []
    for seed in range(args.seeds):
        run, model = harness.train_and_evaluate(
            lambda: hk.models.CNNRNN.from_preset(args.preset), data, seed=seed,
            epochs=args.epochs, batch_size=args.batch_size, steps_per_epoch=args.steps_per_epoch,
            verbose=args.verbose, evaluate=False)
        for decoding in DECODINGS:
            model.decoding = decoding
            rows.append({"model": f"cnn_rnn_{decoding}", "seed": seed, **run,
                         **harness.evaluate_row(model, test)})
            print(rows[-1], flush=True)
        model.decoding = "constrained"
        if seed == 0:
            model.save_to_preset(harness.ROOT / "runs" / f"cnnrnn_seed{seed}",
                                 metrics=rows[-2], overwrite=True, dataset="fashion_mnist",
                                 data_source=data["source"], split="test")
    df = pd.DataFrame(rows)
    if os.path.exists(args.flat_csv):
        df = pd.concat([pd.read_csv(args.flat_csv), df], ignore_index=True)
    metrics = [m for m in METRICS if m in df.columns]
    notes = (f"Preset `{args.preset}` for every row, {args.epochs} epochs, batch "
             f"{args.batch_size}, data: {data['source']} ({len(data['x_train'])} train / "
             f"{len(data['x_test'])} test). Flat rows from {os.path.relpath(args.flat_csv)}. "
             "CNN-RNN rows: one trained model per seed, evaluated with each decoding.")
    harness.write_results(f"cnnrnn_tables{args.tag}", df,
                          harness.mean_std_table(df, ["model"], metrics), command, notes)


if __name__ == "__main__":
    main()
