"""Shared benchmark plumbing: data, seeded training runs, mean +- std tables, result files.

Every result file is written next to the exact command that produced it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def base_parser(description, epochs=8, seeds=3):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--seeds", type=int, default=seeds, help="number of seeds (0..n-1)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--source", default="full", help="full (Debian Fashion-MNIST) or bundled")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N train images")
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--tag", default="", help="suffix of the result files")
    p.add_argument("--verbose", type=int, default=0)
    return p


def command_line() -> str:
    return "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0])] + sys.argv[1:])


def load_data(source="full", train_limit=None):
    import hier_keras as hk

    data = hk.data.load_arrays("fashion_mnist", source=source)
    if train_limit:
        data["x_train"] = data["x_train"][:train_limit]
        data["y_train"] = data["y_train"][:train_limit]
    return data


def make_datasets(data, model, batch_size, seed, x_train=None, y_train=None):
    import hier_keras as hk

    pre = model.preprocessing
    x = data["x_train"] if x_train is None else x_train
    y = data["y_train"] if y_train is None else y_train
    train = hk.data.from_arrays(x, y, model.hierarchy, batch_size=batch_size, shuffle=True,
                                augment=pre.get("augment", True), seed=seed, preprocessing=pre)
    test = hk.data.from_arrays(data["x_test"], data["y_test"], model.hierarchy, batch_size=512,
                               shuffle=False, augment=False, preprocessing=pre)
    return train, test


def run(build_model, data, epochs, seed, batch_size=128, steps_per_epoch=None, verbose=0,
        x_train=None, y_train=None):
    """Seeded train + evaluate. Returns `(model, test_ds, seconds)`."""
    import keras

    from hier_keras.training import fit_model

    keras.utils.set_random_seed(seed)
    model = build_model()
    train, test = make_datasets(data, model, batch_size, seed, x_train, y_train)
    start = time.perf_counter()
    fit_model(model, train, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose)
    return model, test, time.perf_counter() - start


def mean_std_table(df, by, metrics, percent=True):
    """Markdown table of `mean +- std` per group (std over seeds)."""
    rows = []
    for key, group in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        row["seeds"] = len(group)
        for m in metrics:
            vals = group[m].astype(float).dropna()
            vals = vals * (100 if percent and m != "mistake_severity" else 1)
            if vals.empty:
                row[m] = "-"
            else:
                row[m] = f"{vals.mean():.2f} +- {vals.std(ddof=1) if len(vals) > 1 else 0:.2f}"
        rows.append(row)
    return to_markdown(pd.DataFrame(rows))


def to_markdown(df) -> str:
    """A GitHub markdown table (no tabulate dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(v) for v in r.values) + " |")
    return "\n".join(lines)


def write_results(name, df, markdown, command, notes=""):
    RESULTS.mkdir(parents=True, exist_ok=True)
    df.to_csv(RESULTS / f"{name}.csv", index=False)
    text = f"# {name}\n\nCommand:\n\n```\n{command}\n```\n\n{notes}\n\n{markdown}\n"
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


def median_step_time(fn, repeats=7, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
