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
