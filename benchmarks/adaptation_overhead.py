"""Prediction-time cost of classifier adaptation (Dutt et al. 2017): predict() with / without.

Two copies of the same MergedCNN (same weights), one with adaptation baked in, are timed
call by call in turn (medians of `--repeats`), so load drifts on a shared machine hit both.
Switching one model on and off instead retraces its predict function each time and timed
blocks drift apart (the block-timed figure in mergedcnn_full.md came out 1.13x; this
method, on the same model size, 1.00-1.01x).

    python benchmarks/adaptation_overhead.py --repeats 15
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def prediction_overhead(model, x, alpha, repeats, batch_size=512):
    """Median predict() seconds `(with, without)` adaptation: `model` as it is, against a
    copy with the same weights and `alpha` baked in, timed call by call in turn."""
    copies = {}
    for key, a in (("off", None), ("on", alpha)):
        copies[key] = type(model).from_config(model.get_config())
        copies[key].set_weights(model.get_weights())
        copies[key].set_adaptation_alpha(a)
    timing = harness.time_interleaved(
        {k: (lambda m=m: m.predict(x, batch_size=batch_size, verbose=0)) for k, m in copies.items()},
        repeats=repeats, warmup=1)
    return timing.seconds["on"], timing.seconds["off"]


def overhead(preset, images, repeats):
    import numpy as np

    from hier_keras.models.mergedcnn import MergedCNN

    model = MergedCNN.from_preset(preset, topology="merge-1")
    x = np.random.default_rng(0).uniform(0, 255, (images,) + model.image_shape).astype("float32")
    with_s, without_s = prediction_overhead(model, x, 1.0, repeats)
    return {"preset": preset, "images": images, "repeats": repeats,
            "with_adaptation_s": round(with_s, 3), "without_s": round(without_s, 3),
            "ratio": round(with_s / without_s, 4)}


def main(argv=None):
    import argparse

    import pandas as pd

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args(argv)
    row = overhead(args.preset, args.images, args.repeats)
    print(row, flush=True)
    df = pd.DataFrame([row])
    notes = ("MergedCNN merge-1, alpha 1 on every level, batch 512, random images; CPU shared "
             "with other work. Target (issue 4): adaptation adds under 2%.")
    harness.write_results("mergedcnn_adaptation_overhead", df, harness.to_markdown(df),
                          harness.command_line(__file__, argv), notes)


if __name__ == "__main__":
    main()
