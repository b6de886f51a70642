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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0])
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--family", default="CNNRNN")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)

    import pandas as pd
    import tensorflow as tf

    import hier_keras as hk

    data = harness.load_data(args.source, args.train_limit)
    model = getattr(hk.models, args.family).from_preset(args.preset)
    model.compile(total_steps=10_000)
    bs = args.batch_size

    def pipeline():
        return hk.data.from_arrays(data["x_train"], data["y_train"], model.hierarchy,
                                   batch_size=bs, shuffle=True, augment=True, seed=0,
                                   preprocessing=model.preprocessing, cache=False)

    def started():
        """A fresh pipeline past its start-up (shuffle buffer fill): not steady state."""
        it = iter(pipeline())
        next(it)
        return it

    batches = list(pipeline().take(4))
    model.make_train_function()
    step_data = iter(tf.data.Dataset.from_tensors(batches[0]).repeat())
    model.train_function(step_data)  # trace once
    train_batches = args.batches // 4

    def read_batches(it):
        for _ in range(args.batches):
            next(it)

    def train_steps():
        for _ in range(train_batches):
            model.train_function(step_data)

    timing = harness.time_interleaved({"pipeline": read_batches, "training": train_steps},
                                      args.repeats, warmup=0, setup={"pipeline": started})
    pipe_ips = args.batches * bs / timing.seconds["pipeline"]
    train_ips = train_batches * bs / timing.seconds["training"]
    df = pd.DataFrame([{
        "pipeline_images_per_s": round(pipe_ips), "training_images_per_s": round(train_ips),
        "ratio_pipeline_over_training": round(pipe_ips / train_ips, 2),
        "model": f"{args.family}:{args.preset}", "batch": bs, "source": data["source"],
    }])
    harness.write_results(f"input_pipeline{args.tag}", df, harness.to_markdown(df),
                          harness.command_line(__file__, argv),
                          "Medians of interleaved repeats in one process; absolute images/s "
                          "depend on the machine's load, the ratio is what counts (target >= 3).")


if __name__ == "__main__":
    main()
