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
# # Hyperparameter search with keras-tuner
#
# `hier_keras.tuning` builds a keras-tuner `HyperModel` for a family from one of its presets
# and the search space of its paper, which lives next to the family
# (`hier_keras/models/<family>/<family>_search_space.py`: CNN-RNN embedding and LSTM sizes,
# MergedCNN merge point, MinPoolNet lambda, C-HRNN cell and units, DHNN converter and sizes),
# plus learning rate, weight decay and batch size. Objectives name the per-level metrics the models log (`val_fine_accuracy`, ...).
# After the search, the classifier-adaptation alpha (Dutt et al. 2017) is tuned on the same
# validation split and kept only if it helps.
#
# The same search from the command line:
#
# ```
# hier-keras tune --family CNNRNN --trials 10 --epochs 2 --output runs/tune
# ```
#
# `HIER_KERAS_FAST=1`: 2 trials of 1 short epoch of a tiny model on the bundled subset.

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

import hier_keras as hk
from hier_keras import tuning

FAST = os.environ.get("HIER_KERAS_FAST") == "1"
print("tunable families:", tuning.tunable_families())

# %% [markdown]
# ## Data: a validation split held out of the training images
#
# The test split stays out of the search.

# %%
data = hk.data.load_arrays("fashion_mnist", source="bundled" if FAST else "auto")
order = np.random.default_rng(0).permutation(len(data["x_train"]))
n_train, n_val = (1500, 500) if FAST else (20000, 5000)
val_idx, train_idx = order[:n_val], order[n_val:n_val + n_train]
train = (data["x_train"][train_idx], data["y_train"][train_idx])
validation = (data["x_train"][val_idx], data["y_train"][val_idx])
print(data["source"], len(train_idx), "train /", len(val_idx), "validation")

# %% [markdown]
# ## The search space of a family
#
# `space=` narrows a hyperparameter (a list of choices, a `(low, high)` range or one value);
# `overrides=` fixes constructor arguments for every trial.

# %%
import keras_tuner

hp = keras_tuner.HyperParameters()
tuning.get_hypermodel("CNNRNN").build(hp)
for p in hp.space:
    print(f"{p.name:<15} {p.get_config().get('values') or (p.get_config()['min_value'], p.get_config()['max_value'])}")

# %% [markdown]
# ## Search
#
# Random search here; `tuner="bayesian"` or `"hyperband"` work the same way.

# %%
family = "CNNRNN"
if FAST:
    options = {"max_trials": 2, "epochs": 1, "steps_per_epoch": 15, "batch_sizes": (64, 128),
               "overrides": {"backbone_kwargs": {"widths": [8, 16, 16]}},
               "space": {"embedding_dim": [16, 32], "units": [32, 64]}}
else:
    options = {"max_trials": 8, "epochs": 3}
result = tuning.tune(family, train, validation, directory=tempfile.mkdtemp(), **options)
display(result.trials)

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(result.trials["trial"].astype(str), result.trials[result.objective])
ax.set_xlabel("trial")
ax.set_ylabel(result.objective)
plt.show()
print("best:", result.hyperparameters)

# %% [markdown]
# ## Classifier adaptation, tuned after the search
#
# Error of each level against alpha on the validation split (Dutt et al. Fig. 3); alpha = 0
# is the model as trained.

# %%
if result.alpha is not None:
    curve = result.alpha.curve
    fig, ax = plt.subplots(figsize=(5, 3))
    for name in result.model.hierarchy.level_names:
        ax.plot(curve["alpha"], 100 * curve[f"{name}_error"], label=name)
    ax.set_xlabel("alpha")
    ax.set_ylabel("validation error (%)")
    ax.legend()
    plt.show()
    print("best alpha per level:", result.alpha.best, "| kept:", result.adapted)

# %% [markdown]
# ## Test the chosen model and save it as a preset

# %%
test = hk.metrics.evaluate_model(result.model, (data["x_test"], data["y_test"]))
print(test[["coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match"]].round(4))
directory = os.path.join(tempfile.mkdtemp(), "tuned")
result.model.save_to_preset(directory, metrics=test, hyperparameters=result.hyperparameters)
print(sorted(os.listdir(directory)))
