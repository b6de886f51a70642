"""Input pipeline throughput vs the small model's training consumption (one run, same machine).

Measures images/s of `hk.data.from_arrays(..., augment=True, shuffle=True)` (pad-crop-flip,
fit to the model's input shape, batching, prefetch) and images/s of the small
preset's training steps on batches already in memory, each the median of
interleaved repeats. The pipeline must not be the bottleneck: ratio >= 3.

    python benchmarks/input_pipeline.py
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import base_parser, command_line, load_data, to_markdown, write_results  # noqa: E402


def main(argv=None):
    p = base_parser(__doc__.split("\n")[0])
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--family", default="CNNRNN")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)

    import numpy as np
    import pandas as pd
    import tensorflow as tf

    import hier_keras as hk

    data = load_data(args.source, args.train_limit)
    model = getattr(hk.models, args.family).from_preset(args.preset)
    model.compile(total_steps=10_000)
    bs = args.batch_size

    def pipeline():
        return hk.data.from_arrays(data["x_train"], data["y_train"], model.hierarchy,
                                   batch_size=bs, shuffle=True, augment=True, seed=0,
                                   preprocessing=model.preprocessing, cache=False)

    batches = list(pipeline().take(4))
    model.make_train_function()
    step_data = iter(tf.data.Dataset.from_tensors(batches[0]).repeat())
    model.train_function(step_data)  # trace once

    def time_pipeline():
        it = iter(pipeline())
        next(it)  # start-up (shuffle buffer fill) is not steady-state throughput
        t0 = time.perf_counter()
        for _ in range(args.batches):
            next(it)
        return args.batches * bs / (time.perf_counter() - t0)

    def time_training():
        t0 = time.perf_counter()
        for _ in range(args.batches // 4):
            model.train_function(step_data)
        return (args.batches // 4) * bs / (time.perf_counter() - t0)

    pipe, train = [], []
    for _ in range(args.repeats):
        pipe.append(time_pipeline())
        train.append(time_training())
    pipe_ips, train_ips = float(np.median(pipe)), float(np.median(train))
    df = pd.DataFrame([{
        "pipeline_images_per_s": round(pipe_ips), "training_images_per_s": round(train_ips),
        "ratio_pipeline_over_training": round(pipe_ips / train_ips, 2),
        "model": f"{args.family}:{args.preset}", "batch": bs, "source": data["source"],
    }])
    write_results(f"input_pipeline{args.tag}", df, to_markdown(df), command_line(),
                  "Medians of interleaved repeats in one process; absolute images/s depend on "
                  "the machine's load, the ratio is what counts (target >= 3).")


if __name__ == "__main__":
    main()
