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
# # Koo et al. 2018, DHNN (CNN-RNN / CNN-S2S): Table 1 at our scale
#
# The paper: features tapped from several backbone layers feed a (bidirectional) LSTM through
# converters (linear mode product, convolution, pooling); the FPL model (fixed path length)
# with residual arcs and alternating CNN/RNN training, and an S2S decoder for general trees.
# Table 1 compares a flat CNN with DHNN-RNN, -Alt (alternating training), -Resi (residual
# arcs) and -Alt-Resi by path and node accuracy; the relative ordering is what a reproduction
# can check.
#
# Here: Fashion-MNIST, the small backbone, 2 epochs.
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
RESULTS = harness.RESULTS

# %%
table1 = read("dhnn_table1")
if table1 is not None:
    print(command("dhnn_table1"))
    display(mean_std(table1, "model", ["path_accuracy", "node_accuracy"]))
    summary = table1.groupby("model", sort=False)[["path_accuracy", "node_accuracy"]].mean()
    (100 * summary).plot(kind="bar", figsize=(7, 3), ylim=(60, 95), rot=20, ylabel="test (%)")
    plt.show()
    display(table1.groupby("model", sort=False)["parameters"].first())

# %% [markdown]
# ## Table 3 analogue: converters (linear mode product, convolution, pooling) in the S2S model
#
# With their parameter counts and memory (computed for the converters, measured for a whole
# training step), the paper's argument for the pooling converter.

# %%
table3 = read("dhnn_table3")
if table3 is not None:
    display(mean_std(table3, "model", ["path_accuracy", "node_accuracy"]))
    display(table3.groupby("model", sort=False)[["parameters"]].first())
memory = read("dhnn_table3_memory")
if memory is not None:
    print(command("dhnn_table3_memory"))
    display(memory[["model", "converter_mem_ratio_to_pool", "peak_rss_ratio_to_pool"]].round(2))

# %% [markdown]
# ## General trees (S2S with an end token) and the multi-label mode
#
# A variable-depth tree (paths may end at internal nodes) and two-item images scored by path
# and node F1, when those runs exist.

# %%
for name, columns in (("dhnn_variable", ["path_accuracy", "node_accuracy"]),
                      ("dhnn_multilabel", ["path_f1", "node_f1"])):
    if (RESULTS / f"{name}.json").exists():
        print(name)
        display(mean_std(read(name), "model", columns))
