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
# # Guo et al. 2018, CNN-RNN: Tables 2 and 4 and Sec. 4.2 at our scale
#
# The paper (CIFAR-100, GPU): a CNN-RNN generator (an LSTM that reads the image feature at
# every gate and emits coarse then fine labels) against CNN generators with two supervised
# heads (Table 2: coarse-to-fine, fine-to-coarse, parallel) and single-level baselines
# (Table 4: coarse-specific, fine-specific). Table 4: wider-ResNet-RNN 88.23 % coarse /
# 79.14 % fine; wrn-28-10-RNN 85.39 / 76.23; CNN-7 CNN-RNN 83.21 / 72.26.
#
# Here: Fashion-MNIST and its 3-level tree on a 2-core CPU (small backbone, few epochs), so
# absolute figures differ; the comparison between rows is what transfers.
#
# Every table comes from the JSON sidecar that its benchmark script writes next to the `.md`
# table: `benchmarks/results/<table>.json`, with the table's `rows` (one per run) and
# `columns`, the `command` that wrote it (printed with each table), its `date` and `notes`.

# %%
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display

FAST = os.environ.get("HIER_KERAS_FAST") == "1"  # nothing here trains; FAST changes nothing
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "benchmarks" / "results").is_dir())
sys.path.insert(0, str(ROOT / "benchmarks"))
import harness

read, command, mean_std = harness.read_table, harness.table_command, harness.mean_std_frame

# %% [markdown]
# ## Tables 2 and 4: every generator on the same backbone

# %%
tables = read("cnnrnn_tables")
if tables is not None:
    print(command("cnnrnn_tables"))
    metrics = ["coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match", "consistency"]
    display(mean_std(tables, "model", metrics))
    summary = tables.groupby("model", sort=False)[["coarse_accuracy", "fine_accuracy"]].agg(["mean", "std"])
    fig, ax = plt.subplots(figsize=(8, 3))
    x = range(len(summary))
    for offset, level in ((-0.2, "coarse_accuracy"), (0.2, "fine_accuracy")):
        ax.bar([i + offset for i in x], 100 * summary[(level, "mean")], width=0.4,
               yerr=100 * summary[(level, "std")].fillna(0), label=level)
    ax.set_xticks(list(x), summary.index, rotation=30, ha="right")
    ax.set_ylim(60, 100)
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    plt.show()

# %% [markdown]
# ## Sec. 4.2: training with coarse-only images (Fig. 8 / Table 7)
#
# S_fine alone, S_fine + S_coarse with fine labels predicted by the model (pseudo-labels,
# the paper's method), and S_fine + S_coarse with the true fine labels (upper bound).

# %%
coarse_only = read("coarse_only")
if coarse_only is not None:
    print(command("coarse_only"))
    display(mean_std(coarse_only, ["fine_fraction", "coarse_fraction", "method"], ["fine_accuracy"]))
    pivot = coarse_only.groupby(["fine_fraction", "method"], sort=False)["fine_accuracy"].mean().unstack()
    (100 * pivot).plot(kind="bar", figsize=(6, 3), ylabel="fine accuracy (%)", rot=0)
    plt.show()

# %% [markdown]
# ## Cost of the RNN (ratios measured in one run)

# %%
speed = read("cnnrnn_speed")
if speed is not None:
    display(speed)
