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
