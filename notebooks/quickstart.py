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
# # hier_keras quickstart
#
# Hierarchical classification: every image gets a *path* of labels (coarse → fine), here the
# 3-level Fashion-MNIST tree (Clothes/Goods → Tops, Bottoms, ... → T-shirt, Trouser, ...).
#
# This notebook loads the data, picks a preset, trains it, looks at predicted paths and a
# coarse-level confusion matrix, saves the model, and reloads a trained model from the zoo
# (both as a Keras preset and as a TensorFlow SavedModel).
#
# `HIER_KERAS_FAST=1` (what the tests use) trains a tiny model for a few steps on the bundled
# subset; without it, the preset trains for 2 epochs on the full Fashion-MNIST when it is
# installed (the bundled subset otherwise), a few minutes on a laptop CPU.

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import hier_keras as hk

FAST = os.environ.get("HIER_KERAS_FAST") == "1"
tree = hk.Hierarchy.fashion_mnist()
print(tree.level_names, tree.level_sizes)

# %% [markdown]
# ## Pick a preset
#
# Presets carry the architecture, the input shape, the normalisation and the training
# recipe. `preset_names()` lists the built-in ones and the trained zoo entries.

# %%
print(hk.models.CNNRNN.preset_names())
overrides = {"backbone_kwargs": {"widths": [8, 16, 16]}, "units": 32, "embedding_dim": 16} if FAST else {}
model = hk.models.CNNRNN.from_preset("small_fashion_mnist", **overrides)
print(f"{model.name}: {model.count_params():,} parameters, input {model.preprocessing['input_shape']}")

# %% [markdown]
# ## Load the data
#
# `hk.data.load` reads the preset's preprocessing, so the pipelines match the model. Nothing
# is downloaded: the full set comes from the Debian package or Keras' cache when present,
# else a stratified subset bundled with the package (10,000 train / 2,000 test images).

# %%
train, test, info = hk.data.load("fashion_mnist", batch_size=64 if FAST else 128,
                                 augment=not FAST, preprocessing=model.preprocessing,
                                 source="bundled" if FAST else "auto", return_info=True)
print(f"{info['source']}: {info['train_size']} train / {info['test_size']} test images")

# %% [markdown]
# ## Train
#
# `fit_model` compiles with the preset's optimizer and schedule (SGD + cosine decay here) and
# trains; with `checkpoint_dir=` a killed run resumes from its last epoch. (In FAST mode a
# tiny model trains for 30 steps: expect near-chance predictions below; the zoo model at the
# end is a trained one.)

# %%
epochs, steps = (1, 30) if FAST else (2, None)
history = hk.training.fit_model(model, train, epochs=epochs, steps_per_epoch=steps,
                                validation_data=test.take(4) if FAST else test, verbose=0)
print({k: round(v[-1], 3) for k, v in history.history.items() if k.startswith("val_")})

# %% [markdown]
# ## Predicted paths
#
# `predict_paths` decodes one path per image (tree-constrained for the CNN-RNN) with each
# level's probability.

# %%
images, labels = next(iter(test.unbatch().batch(6)))
images, labels = np.asarray(images), np.asarray(labels)
for path, truth in zip(model.predict_paths(images), labels):
    shown = " > ".join(f"{name} ({p:.2f})" for name, p in path)
    print(f"{shown:<62} true: {' > '.join(tree.path_names(truth))}")

# %% [markdown]
# ## Coarse-level confusion matrix
#
# Per-level metrics come from `hk.metrics.evaluate_model`; the confusion matrix uses the
# predicted paths' first level.

# %%
x_test = np.concatenate([np.asarray(x) for x, _ in test])
y_test = np.concatenate([np.asarray(y) for _, y in test])
if FAST:
    x_test, y_test = x_test[:500], y_test[:500]
results = hk.metrics.evaluate_model(model, (x_test, y_test))
print(results[["coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match"]].round(4))

level = 0
pred = model.predict_label_paths(x_test)[:, level]
names = tree.class_names[level]
confusion = np.zeros((len(names), len(names)), int)
np.add.at(confusion, (y_test[:, level], pred), 1)
fig, ax = plt.subplots(figsize=(3.5, 3))
ax.imshow(confusion, cmap="Blues")
ax.set_xticks(range(len(names)), names)
ax.set_yticks(range(len(names)), names)
ax.set_xlabel("predicted")
ax.set_ylabel("true")
for i in range(len(names)):
    for j in range(len(names)):
        ax.text(j, i, confusion[i, j], ha="center", va="center")
ax.set_title(f"{tree.level_names[level]} level")
plt.show()

# %% [markdown]
# ## Save and reload
#
# A preset directory holds `config.json`, `model.weights.h5` and `metadata.json` (with the
# hierarchy, the preprocessing, the metrics and a sha256 of every file, checked on load).

# %%
directory = os.path.join(tempfile.mkdtemp(), "my_cnnrnn")
model.save_to_preset(directory, metrics=results, dataset="fashion_mnist")
print(sorted(os.listdir(directory)))
reloaded = hk.models.CNNRNN.from_preset(directory)
same = np.allclose(reloaded.predict(x_test[:32], verbose=0)["fine"],
                   model.predict(x_test[:32], verbose=0)["fine"], atol=1e-6)
print("reloaded predictions identical:", same)

# %% [markdown]
# ## Reload a trained model from the zoo
#
# Zoo entries ship inside the package (`zoo/index.json` lists them with their test
# accuracy); `from_preset(<name>)` needs no network. Each entry also carries a SavedModel for
# TF Serving that takes raw images.

# %%
import json

import tensorflow as tf

from hier_keras import presets

print([entry["name"] for entry in json.loads((presets.zoo_roots()[0] / "index.json").read_text())])
zoo_model = hk.models.CNNRNN.from_preset("cnnrnn_small_fashion_mnist")
print(hk.metrics.evaluate_model(zoo_model, (x_test, y_test))[["coarse_accuracy", "fine_accuracy"]])

served = tf.saved_model.load(str(presets.zoo_entries()["cnnrnn_small_fashion_mnist"] / "saved_model"))
probs = served.serve(tf.constant(x_test[:8], tf.float32))
print({name: tuple(p.shape) for name, p in probs.items()})
print("SavedModel = Keras:", np.allclose(probs["fine"], zoo_model.predict(x_test[:8], verbose=0)["fine"], atol=1e-5))
