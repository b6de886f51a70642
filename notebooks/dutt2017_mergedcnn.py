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
# # Dutt et al. 2017, merged CNNs and classifier adaptation: Fig. 3 at our scale
#
# The paper (CIFAR-100, ResNet-164 / DenseNet-100-BC): towers that share their first k stages
# (merge-k) against separate networks, plus *classifier adaptation* (Algorithm 1), which mixes
# the coarse and fine probabilities with a factor alpha in [0, 2]; the error is lowest near
# alpha = 1 and merge-1 / merge-2 are best (Fig. 3/4).
#
# Here: Fashion-MNIST (the full training split less 5,000 validation images), the 3-level tree,
# a small backbone, 1 epoch, 4 instances per topology.
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
# ## Test error per topology: no adaptation, alpha = 1, alpha tuned on validation

# %%
merged = read("mergedcnn_full")
if merged is not None:
    print(command("mergedcnn_full"))
    single = merged[merged["ensemble"] == 1]
    columns = ["fine_err_a0", "fine_err_a1", "fine_err_tuned", "exact_match_err_a0", "exact_match_err_a1"]
    display(mean_std(single, "topology", columns))
    display(mean_std(merged, ["topology", "ensemble"], ["fine_err_a0", "fine_err_tuned"]))

# %% [markdown]
# ## Fig. 3 analogue: error against alpha
#
# Mean over the instances of each topology (single models, not ensembles).

# %%
curves = read("mergedcnn_full_alpha")
if curves is not None:
    single = curves[curves["ensemble"] == 1]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, level in zip(axes, ["fine_error", "medium_error"]):
        for topology, group in single.groupby("topology", sort=False):
            mean = group.groupby("alpha")[level].mean()
            ax.plot(mean.index, 100 * mean.values, label=topology)
        ax.axvline(1.0, color="gray", lw=0.5)
        ax.set_xlabel("alpha")
        ax.set_ylabel(f"test {level.replace('_', ' ')} (%)")
    axes[0].legend()
    plt.show()

# %% [markdown]
# ## Cost of each topology (ratios to separate networks, one run)

# %%
cost = read("mergedcnn_full_cost")
if cost is not None:
    display(cost.round(3))
