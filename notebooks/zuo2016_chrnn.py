# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Zuo et al. 2016, C-HRNN: Table II and the cost of the recurrent layers at our scale
#
# The paper (ILSVRC 2012, 224 px, GPU): SPP-net conv1-5, then hierarchical spatial RNNs over
# a {6, 3, 2, 1} pyramid (C-HSRN with simple cells, C-HLSTM with LSTM cells, C-MSRN /
# C-MLSTM without the cross-scale links), fc7/fc8. Table II, top-1 error: SPP-net 38.21 % →
# C-HLSTM 35.85 %.
#
# Here: Fashion-MNIST at 28 px on a small SPP-net, with per-level heads; and the speed of the
# wavefront implementation against the cell-by-cell reference.
#
# Every table comes from the JSON sidecar that its benchmark script writes next to the `.md`
# table: `benchmarks/results/<table>.json`, with the table's `rows` (one per run) and
# `columns`, the `command` that wrote it (printed with each table), its `date` and `notes`.

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

FAST = os.environ.get("HIER_KERAS_FAST") == "1"  # nothing here trains; FAST changes nothing
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "benchmarks" / "results").is_dir())
RESULTS = ROOT / "benchmarks" / "results"


def sidecar(name):
    """The JSON sidecar of a result table (keys `name`, `command`, `columns`, `rows`, `date`,
    `notes`), or None (with the reason) when the benchmark has not written it yet."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        print(f"{path.relative_to(ROOT)} is missing: run the benchmark script first.")
        return None
    return json.loads(path.read_text())


def read(name):
    """A result table as a DataFrame (its sidecar's rows), or None when it is missing."""
    result = sidecar(name)
    if result is None:
        return None
    df = pd.DataFrame(result["rows"], columns=result["columns"])
    # A column of nulls only comes back as objects; make it NaN floats, as in the CSV.
    return df.astype({c: float for c in df.columns if df[c].isna().all()})


def command(name):
    """The command that wrote a result table, and when (from its sidecar)."""
    result = sidecar(name)
    if result is None:
        return "(not recorded)"
    return f"$ {result['command']}" + (f"  # {result['date']}" if result.get("date") else "")


def mean_std(df, by, columns, scale=100.0):
    """`mean ± std` over seeds of each group, in percent by default."""
    groups = df.groupby(by, sort=False)[columns]
    mean, std = groups.mean() * scale, groups.std(ddof=1).fillna(0.0) * scale
    out = mean.round(2).astype(str) + " ± " + std.round(2).astype(str)
    out.insert(0, "seeds", groups.size())
    return out


# %% [markdown]
# ## Table II analogue: test accuracy per variant
#
# (The accuracy table may still be a partial run: the file name says so.)

# %%
name = next((n for n in ("chrnn_accuracy", "chrnn_accuracy_partial") if (RESULTS / f"{n}.json").exists()), None)
accuracy = read(name) if name else read("chrnn_accuracy")
if accuracy is not None:
    print(name, "|", command(name))
    table = mean_std(accuracy, "model", ["coarse_accuracy", "fine_accuracy", "exact_match"])
    display(table)
    error = 100 * (1 - accuracy.groupby("model", sort=False)["fine_accuracy"].mean())
    error.plot(kind="barh", figsize=(6, 3), xlabel="fine top-1 error (%)")
    plt.show()

# %% [markdown]
# ## Speed: wavefront against cell-by-cell, and the RNN's share of the cost

# %%
speed = read("chrnn_speed")
if speed is not None:
    print(command("chrnn_speed"))
    layer = speed[speed["table"] == "layer"][["what", "value"]]
    display(layer)
    models = speed[speed["table"] != "layer"].dropna(axis=1, how="all")
    display(models)
