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

from common import (  # noqa: E402
    RESULTS,
    base_parser,
    command_line,
    load_data,
    mean_std_table,
    median_step_time,
    run,
    to_markdown,
    write_results,
)
from flat_baselines import METRICS  # noqa: E402

DECODINGS = ["greedy", "constrained", "beam"]


def speed_ratios(preset, batch_size=128, repeats=9):
    """Median step times of CNN-RNN vs fine-specific, timed interleaved in one run."""
    import keras
    import numpy as np
    import tensorflow as tf

    import hier_keras as hk

    rng = np.random.default_rng(0)
    flat = hk.models.HierarchicalCNN.from_preset(preset, head="single")
    rnn = hk.models.CNNRNN.from_preset(preset)
    x = rng.uniform(0, 255, (batch_size,) + flat.image_shape).astype("float32")
    y = flat.hierarchy.leaf_paths()[rng.integers(0, 10, batch_size)]
    x, y = tf.constant(x), tf.constant(y)
    steps = {}
    for name, model in (("flat", flat), ("cnnrnn", rnn)):
        model.compile()
        model.make_train_function()
        fn = model.train_function
        data = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
        steps[name] = (lambda f=fn, d=data: f(d))
    infer = {
        "flat": tf.function(lambda: flat(x, training=False)),
        "greedy": tf.function(lambda: rnn.decode(rnn._features(x, False), "greedy")),
        "constrained": tf.function(lambda: rnn.decode(rnn._features(x, False), "constrained")),
        "beam": tf.function(lambda: rnn.decode(rnn._features(x, False), "beam")),
    }
    times = {k: [] for k in list(steps) + [f"infer_{k}" for k in infer]}
    for _ in range(repeats):  # interleave so machine noise hits every candidate alike
        for k, f in steps.items():
            times[k].append(median_step_time(f, repeats=3, warmup=1))
        for k, f in infer.items():
            times[f"infer_{k}"].append(median_step_time(f, repeats=3, warmup=1))
    med = {k: float(np.median(v)) for k, v in times.items()}
    del keras
    return {
        "train_step_cnnrnn_over_fine_specific": med["cnnrnn"] / med["flat"],
        "infer_greedy_over_flat": med["infer_greedy"] / med["infer_flat"],
        "infer_constrained_over_flat": med["infer_constrained"] / med["infer_flat"],
        "infer_beam5_over_greedy": med["infer_beam"] / med["infer_greedy"],
    }


def main(argv=None):
    p = base_parser(__doc__.split("\n")[0], epochs=6)
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--speed-only", action="store_true")
    p.add_argument("--flat-csv", default=str(RESULTS / "flat_baselines.csv"))
    args = p.parse_args(argv)

    import numpy as np
    import pandas as pd

    import hier_keras as hk
    from hier_keras.metrics import evaluate

    ratios = speed_ratios(args.preset, args.batch_size)
    speed = pd.DataFrame([{"ratio": k, "value": round(v, 3)} for k, v in ratios.items()])
    write_results(f"cnnrnn_speed{args.tag}", speed, to_markdown(speed), command_line(),
                  f"Preset `{args.preset}`, batch {args.batch_size}; medians of interleaved "
                  "repeats in one process on this CPU. Targets: train <= 1.15, greedy <= 1.2.")
    if args.speed_only:
        return
    data = load_data(args.source, args.train_limit)
    rows = []
    for seed in range(args.seeds):
        model, test, seconds = run(lambda: hk.models.CNNRNN.from_preset(args.preset), data,
                                   args.epochs, seed, args.batch_size, args.steps_per_epoch,
                                   args.verbose)
        x = data["x_test"].astype("float32")
        for decoding in DECODINGS:
            model.decoding = decoding
            probs = model.predict(x, batch_size=500, verbose=0)
            paths = model.predict_label_paths(x, batch_size=500, decoding=decoding)
            res = evaluate(data["y_test"], probs, model.hierarchy, paths=paths).iloc[0].to_dict()
            rows.append({"model": f"cnn_rnn_{decoding}", "seed": seed,
                         "train_seconds": round(seconds, 1), **res})
            print(rows[-1], flush=True)
        model.decoding = "constrained"
        if seed == 0:
            model.save_to_preset(RESULTS.parent.parent / "runs" / f"cnnrnn_seed{seed}",
                                 metrics=rows[-2], dataset="fashion_mnist",
                                 data_source=data["source"], split="test")
    df = pd.DataFrame(rows)
    if os.path.exists(args.flat_csv):
        df = pd.concat([pd.read_csv(args.flat_csv), df], ignore_index=True)
    metrics = [m for m in METRICS if m in df.columns]
    notes = (f"Preset `{args.preset}` for every row, {args.epochs} epochs, batch "
             f"{args.batch_size}, data: {data['source']} ({len(data['x_train'])} train / "
             f"{len(data['x_test'])} test). Flat rows from {os.path.relpath(args.flat_csv)}. "
             "CNN-RNN rows: one trained model per seed, evaluated with each decoding.")
    write_results(f"cnnrnn_tables{args.tag}", df, mean_std_table(df, ["model"], metrics),
                  command_line(), notes)
    del np


if __name__ == "__main__":
    main()
