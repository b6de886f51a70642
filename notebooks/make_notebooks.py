"""Write the notebooks of this folder (no outputs) from the cell sources below.

    python notebooks/make_notebooks.py            # rewrite every notebook
    python notebooks/make_notebooks.py --check    # exit 1 if a notebook differs from here

Edit the cells here, not the .ipynb files: the tests check that the notebooks match this
script and execute each of them with `HIER_KERAS_FAST=1` (bundled subset, tiny models, a
few training steps).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

# Shared first code cell of the paper notebooks: where the results are, and helpers.
RESULTS_SETUP = '''\
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

FAST = os.environ.get("HIER_KERAS_FAST") == "1"  # nothing here trains; FAST changes nothing
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "benchmarks" / "results").is_dir())
RESULTS = ROOT / "benchmarks" / "results"


def read(name):
    """A result table, or None (with the reason) when it has not been produced yet."""
    path = RESULTS / f"{name}.csv"
    if not path.exists():
        print(f"{path.relative_to(ROOT)} is missing: run the benchmark script first.")
        return None
    return pd.read_csv(path)


def command(name):
    """The command that wrote a result table (recorded in its .md file)."""
    md = RESULTS / f"{name}.md"
    parts = md.read_text().split("```") if md.exists() else []
    return parts[1].strip() if len(parts) > 2 else "(not recorded)"


def mean_std(df, by, columns, scale=100.0):
    """`mean ± std` over seeds of each group, in percent by default."""
    groups = df.groupby(by, sort=False)[columns]
    mean, std = groups.mean() * scale, groups.std(ddof=1).fillna(0.0) * scale
    out = mean.round(2).astype(str) + " ± " + std.round(2).astype(str)
    out.insert(0, "seeds", groups.size())
    return out'''


def md(text):
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text):
    return nbformat.v4.new_code_cell(text.strip("\n"))


# ============================================================================ quickstart
QUICKSTART = [
    md('''
# hier_keras quickstart

Hierarchical classification: every image gets a *path* of labels (coarse → fine), here the
3-level Fashion-MNIST tree (Clothes/Goods → Tops, Bottoms, ... → T-shirt, Trouser, ...).

This notebook loads the data, picks a preset, trains it, looks at predicted paths and a
coarse-level confusion matrix, saves the model, and reloads a trained model from the zoo
(both as a Keras preset and as a TensorFlow SavedModel).

`HIER_KERAS_FAST=1` (what the tests use) trains a tiny model for a few steps on the bundled
subset; without it, the preset trains for 2 epochs on the full Fashion-MNIST when it is
installed (the bundled subset otherwise), a few minutes on a laptop CPU.
'''),
    code('''
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import hier_keras as hk

FAST = os.environ.get("HIER_KERAS_FAST") == "1"
tree = hk.Hierarchy.fashion_mnist()
print(tree.level_names, tree.level_sizes)
'''),
    md('''
## Pick a preset

Presets carry the architecture, the input shape, the normalisation and the training
recipe. `preset_names()` lists the built-in ones and the trained zoo entries.
'''),
    code('''
print(hk.models.CNNRNN.preset_names())
overrides = {"backbone_kwargs": {"widths": [8, 16, 16]}, "units": 32, "embedding_dim": 16} if FAST else {}
model = hk.models.CNNRNN.from_preset("small_fashion_mnist", **overrides)
print(f"{model.name}: {model.count_params():,} parameters, input {model.preprocessing['input_shape']}")
'''),
    md('''
## Load the data

`hk.data.load` reads the preset's preprocessing, so the pipelines match the model. Nothing
is downloaded: the full set comes from the Debian package or Keras' cache when present,
else a stratified subset bundled with the package (10,000 train / 2,000 test images).
'''),
    code('''
train, test, info = hk.data.load("fashion_mnist", batch_size=64 if FAST else 128,
                                 augment=not FAST, preprocessing=model.preprocessing,
                                 source="bundled" if FAST else "auto", return_info=True)
print(f"{info['source']}: {info['train_size']} train / {info['test_size']} test images")
'''),
    md('''
## Train

`fit_model` compiles with the preset's optimizer and schedule (SGD + cosine decay here) and
trains; with `checkpoint_dir=` a killed run resumes from its last epoch. (In FAST mode a
tiny model trains for 30 steps: expect near-chance predictions below; the zoo model at the
end is a trained one.)
'''),
    code('''
epochs, steps = (1, 30) if FAST else (2, None)
history = hk.training.fit_model(model, train, epochs=epochs, steps_per_epoch=steps,
                                validation_data=test.take(4) if FAST else test, verbose=0)
print({k: round(v[-1], 3) for k, v in history.history.items() if k.startswith("val_")})
'''),
    md('''
## Predicted paths

`predict_paths` decodes one path per image (tree-constrained for the CNN-RNN) with each
level's probability.
'''),
    code('''
images, labels = next(iter(test.unbatch().batch(6)))
images, labels = np.asarray(images), np.asarray(labels)
for path, truth in zip(model.predict_paths(images), labels):
    shown = " > ".join(f"{name} ({p:.2f})" for name, p in path)
    print(f"{shown:<62} true: {' > '.join(tree.path_names(truth))}")
'''),
    md('''
## Coarse-level confusion matrix

Per-level metrics come from `hk.metrics.evaluate_model`; the confusion matrix uses the
predicted paths' first level.
'''),
    code('''
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
'''),
    md('''
## Save and reload

A preset directory holds `config.json`, `model.weights.h5` and `metadata.json` (with the
hierarchy, the preprocessing, the metrics and a sha256 of every file, checked on load).
'''),
    code('''
directory = os.path.join(tempfile.mkdtemp(), "my_cnnrnn")
model.save_to_preset(directory, metrics=results, dataset="fashion_mnist")
print(sorted(os.listdir(directory)))
reloaded = hk.models.CNNRNN.from_preset(directory)
same = np.allclose(reloaded.predict(x_test[:32], verbose=0)["fine"],
                   model.predict(x_test[:32], verbose=0)["fine"], atol=1e-6)
print("reloaded predictions identical:", same)
'''),
    md('''
## Reload a trained model from the zoo

Zoo entries ship inside the package (`zoo/index.json` lists them with their test
accuracy); `from_preset(<name>)` needs no network. Each entry also carries a SavedModel for
TF Serving that takes raw images.
'''),
    code('''
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
'''),
]

# ============================================================================ tuning
TUNING = [
    md('''
# Hyperparameter search with keras-tuner

`hier_keras.tuning` has one keras-tuner `HyperModel` per family, with the search space of
its paper (CNN-RNN embedding and LSTM sizes, MergedCNN merge point, MinPoolNet lambda,
C-HRNN cell and units, DHNN converter and sizes) plus learning rate, weight decay and batch
size. Objectives name the per-level metrics the models log (`val_fine_accuracy`, ...).
After the search, the classifier-adaptation alpha (Dutt et al. 2017) is tuned on the same
validation split and kept only if it helps.

The same search from the command line:

```
hier-keras tune --family CNNRNN --trials 10 --epochs 2 --output runs/tune
```

`HIER_KERAS_FAST=1`: 2 trials of 1 short epoch of a tiny model on the bundled subset.
'''),
    code('''
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import hier_keras as hk
from hier_keras import tuning

FAST = os.environ.get("HIER_KERAS_FAST") == "1"
print("tunable families:", sorted(tuning.HYPERMODELS))
'''),
    md('''
## Data: a validation split held out of the training images

The test split stays out of the search.
'''),
    code('''
data = hk.data.load_arrays("fashion_mnist", source="bundled" if FAST else "auto")
order = np.random.default_rng(0).permutation(len(data["x_train"]))
n_train, n_val = (1500, 500) if FAST else (20000, 5000)
val_idx, train_idx = order[:n_val], order[n_val:n_val + n_train]
train = (data["x_train"][train_idx], data["y_train"][train_idx])
validation = (data["x_train"][val_idx], data["y_train"][val_idx])
print(data["source"], len(train_idx), "train /", len(val_idx), "validation")
'''),
    md('''
## The search space of a family

`space=` narrows a hyperparameter (a list of choices, a `(low, high)` range or one value);
`overrides=` fixes constructor arguments for every trial.
'''),
    code('''
import keras_tuner

hp = keras_tuner.HyperParameters()
tuning.get_hypermodel("CNNRNN").build(hp)
for p in hp.space:
    print(f"{p.name:<15} {p.get_config().get('values') or (p.get_config()['min_value'], p.get_config()['max_value'])}")
'''),
    md('''
## Search

Random search here; `tuner="bayesian"` or `"hyperband"` work the same way.
'''),
    code('''
family = "CNNRNN"
options = dict(max_trials=2, epochs=1, steps_per_epoch=15, batch_sizes=(64, 128),
               overrides={"backbone_kwargs": {"widths": [8, 16, 16]}},
               space={"embedding_dim": [16, 32], "units": [32, 64]}) if FAST else dict(max_trials=8, epochs=3)
result = tuning.tune(family, train, validation, directory=tempfile.mkdtemp(), **options)
result.trials
'''),
    code('''
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(result.trials["trial"].astype(str), result.trials[result.objective])
ax.set_xlabel("trial")
ax.set_ylabel(result.objective)
plt.show()
print("best:", result.hyperparameters)
'''),
    md('''
## Classifier adaptation, tuned after the search

Error of each level against alpha on the validation split (Dutt et al. Fig. 3); alpha = 0
is the model as trained.
'''),
    code('''
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
'''),
    md('''
## Test the chosen model and save it as a preset
'''),
    code('''
test = hk.metrics.evaluate_model(result.model, (data["x_test"], data["y_test"]))
print(test[["coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match"]].round(4))
directory = os.path.join(tempfile.mkdtemp(), "tuned")
result.model.save_to_preset(directory, metrics=test, hyperparameters=result.hyperparameters)
print(sorted(os.listdir(directory)))
'''),
]

# ============================================================================ papers
GUO = [
    md('''
# Guo et al. 2018, CNN-RNN: Tables 2 and 4 and Sec. 4.2 at our scale

The paper (CIFAR-100, GPU): a CNN-RNN generator (an LSTM that reads the image feature at
every gate and emits coarse then fine labels) against CNN generators with two supervised
heads (Table 2: coarse-to-fine, fine-to-coarse, parallel) and single-level baselines
(Table 4: coarse-specific, fine-specific). Table 4: wider-ResNet-RNN 88.23 % coarse /
79.14 % fine; wrn-28-10-RNN 85.39 / 76.23; CNN-7 CNN-RNN 83.21 / 72.26.

Here: Fashion-MNIST and its 3-level tree on a 2-core CPU (small backbone, few epochs), so
absolute figures differ; the comparison between rows is what transfers. This notebook reads
`benchmarks/results/`; the commands that wrote them are printed.
'''),
    code(RESULTS_SETUP),
    md('''
## Tables 2 and 4: every generator on the same backbone
'''),
    code('''
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
'''),
    md('''
## Sec. 4.2: training with coarse-only images (Fig. 8 / Table 7)

S_fine alone, S_fine + S_coarse with fine labels predicted by the model (pseudo-labels,
the paper's method), and S_fine + S_coarse with the true fine labels (upper bound).
'''),
    code('''
coarse_only = read("coarse_only")
if coarse_only is not None:
    print(command("coarse_only"))
    display(mean_std(coarse_only, ["fine_fraction", "coarse_fraction", "method"], ["fine_accuracy"]))
    pivot = coarse_only.groupby(["fine_fraction", "method"], sort=False)["fine_accuracy"].mean().unstack()
    (100 * pivot).plot(kind="bar", figsize=(6, 3), ylabel="fine accuracy (%)", rot=0)
    plt.show()
'''),
    md('''
## Cost of the RNN (ratios measured in one run)
'''),
    code('''
speed = read("cnnrnn_speed")
if speed is not None:
    display(speed)
'''),
]

DUTT = [
    md('''
# Dutt et al. 2017, merged CNNs and classifier adaptation: Fig. 3 at our scale

The paper (CIFAR-100, ResNet-164 / DenseNet-100-BC): towers that share their first k stages
(merge-k) against separate networks, plus *classifier adaptation* (Algorithm 1), which mixes
the coarse and fine probabilities with a factor alpha in [0, 2]; the error is lowest near
alpha = 1 and merge-1 / merge-2 are best (Fig. 3/4).

Here: Fashion-MNIST (the full training split less 5,000 validation images), the 3-level tree,
a small backbone, 1 epoch, 4 instances per topology.
'''),
    code(RESULTS_SETUP),
    md('''
## Test error per topology: no adaptation, alpha = 1, alpha tuned on validation
'''),
    code('''
merged = read("mergedcnn_full")
if merged is not None:
    print(command("mergedcnn_full"))
    single = merged[merged["ensemble"] == 1]
    columns = ["fine_err_a0", "fine_err_a1", "fine_err_tuned", "exact_match_err_a0", "exact_match_err_a1"]
    display(mean_std(single, "topology", columns))
    display(mean_std(merged, ["topology", "ensemble"], ["fine_err_a0", "fine_err_tuned"]))
'''),
    md('''
## Fig. 3 analogue: error against alpha

Mean over the instances of each topology (single models, not ensembles).
'''),
    code('''
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
'''),
    md('''
## Cost of each topology (ratios to separate networks, one run)
'''),
    code('''
cost = read("mergedcnn_full_cost")
if cost is not None:
    display(cost.round(3))
'''),
]

MINPOOL = [
    md('''
# Min-pooling for coarse-labelled images: Table I and Fig. 5 at our scale

The paper (CIFAR-100, NIN and a small AlexNet): the network ends in one feature map per
fine class; coarse maps are the element-wise *minimum* of their children's maps, so images
that only carry a coarse label still train the fine maps (loss eq. 7, weight lambda).
Table I (|S_fine| = |S_coarse| = half of the data): NIN baseline 51.28 %, ours 57.40 %,
upper bound 64.32 % (47 % of the baseline-to-oracle gap closed); AlexNet 45.98 / 49.15 /
52.80 (46 %). Fig. 5: lambda = 1 best.

Here: Fashion-MNIST (fine accuracy of the 10 classes), several fine:coarse label splits,
a small backbone, with pseudo-labelling (Guo et al. Sec. 4.2) as a second method.
'''),
    code(RESULTS_SETUP),
    md('''
## Table I analogue: fine accuracy by method and label split
'''),
    code('''
runs = read("minpoolnet")
if runs is not None:
    print(command("minpoolnet"))
    main = runs[~runs["method"].str.startswith("lambda=")]
    display(mean_std(main, ["fine_pct", "coarse_pct", "method"], ["fine_accuracy"]))
    pivot = main.groupby(["fine_pct", "method"], sort=False)["fine_accuracy"].mean().unstack()
    (100 * pivot).plot(kind="bar", figsize=(7, 3), ylabel="fine accuracy (%)", rot=0,
                       ylim=(70, 90), xlabel="% of images with fine labels")
    plt.show()
'''),
    md('''
## Share of the baseline-to-oracle gap closed (the paper: 47 % NIN, 46 % AlexNet)
'''),
    code('''
gap = read("minpoolnet_gap")
if gap is not None:
    display(mean_std(gap, ["fine_pct", "coarse_pct", "method"], ["gap_closed"]))
'''),
    md('''
## Fig. 5 analogue: lambda
'''),
    code('''
if runs is not None and runs["method"].str.startswith("lambda=").any():
    sweep = runs[runs["method"].str.startswith("lambda=")].copy()
    sweep["lambda"] = sweep["method"].str.split("=").str[1].astype(float)
    curve = sweep.groupby("lambda")["fine_accuracy"].agg(["mean", "std"])
    display((100 * curve).round(2))
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.errorbar(curve.index, 100 * curve["mean"], yerr=100 * curve["std"].fillna(0), marker="o")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("lambda")
    ax.set_ylabel("fine accuracy (%)")
    plt.show()
'''),
    md('''
## Trained to the plateau: 2,400 steps of batch 128 per method

Does the coarse-only data help once the fine-only baseline is trained to its plateau too?
(10:50 is the Table I/II setting; 10:90 gives nine coarse-only images per fine one.) Two
weightings of eq. 7: `labelled` (each level averaged over its labelled images, which weights
the coarse terms less) and `batch` (eq. 7 as written, lambda = 1).
'''),
    code('''
for name in ("minpoolnet_plateau", "minpoolnet_plateau_eq7"):
    plateau = read(name)
    if plateau is not None:
        print(command(name))
        display(mean_std(plateau, ["fine_pct", "coarse_pct", "method"], ["fine_accuracy"]))
        plateau_gap = read(f"{name}_gap")
        if plateau_gap is not None:
            display(mean_std(plateau_gap, ["fine_pct", "coarse_pct", "method"], ["gap_closed"]))
'''),
    md('''
## What we found

The paper's claim does not hold at this scale: at 10 % fine labels MinPoolNet ties the
fine-only baseline (after 1,000 steps and at the plateau alike, with either weighting) and
it falls below it at 20-50 %; with 90 % coarse-only images it gains at most about a point
(11 % of the gap with the `labelled` weighting, 3 % with eq. 7 as written). The
coarse-only images do train the coarse maps (see `tests/test_minpoolnet.py`), but on this
tree four of six medium classes have a single child and the rest of the fine errors lie
within Tops and Shoes, where min-pooling pushes sibling maps together. Pseudo-labelling
with the CNN-RNN closes about half the gap at 10 %. The paper's own setting, CIFAR-100
with NIN (`hier-keras train --family MinPoolNet --preset nin --dataset cifar100
--fine-fraction 0.5 --coarse-fraction 0.5 ...`), needs a GPU.
'''),
]

ZUO = [
    md('''
# Zuo et al. 2016, C-HRNN: Table II and the cost of the recurrent layers at our scale

The paper (ILSVRC 2012, 224 px, GPU): SPP-net conv1-5, then hierarchical spatial RNNs over
a {6, 3, 2, 1} pyramid (C-HSRN with simple cells, C-HLSTM with LSTM cells, C-MSRN /
C-MLSTM without the cross-scale links), fc7/fc8. Table II, top-1 error: SPP-net 38.21 % →
C-HLSTM 35.85 %.

Here: Fashion-MNIST at 28 px on a small SPP-net, with per-level heads; and the speed of the
wavefront implementation against the cell-by-cell reference.
'''),
    code(RESULTS_SETUP),
    md('''
## Table II analogue: test accuracy per variant

(The accuracy table may still be a partial run: the file name says so.)
'''),
    code('''
name = next((n for n in ("chrnn_accuracy", "chrnn_accuracy_partial") if (RESULTS / f"{n}.csv").exists()), None)
accuracy = read(name) if name else read("chrnn_accuracy")
if accuracy is not None:
    print(name, "|", command(name))
    table = mean_std(accuracy, "model", ["coarse_accuracy", "fine_accuracy", "exact_match"])
    display(table)
    error = 100 * (1 - accuracy.groupby("model", sort=False)["fine_accuracy"].mean())
    error.plot(kind="barh", figsize=(6, 3), xlabel="fine top-1 error (%)")
    plt.show()
'''),
    md('''
## Speed: wavefront against cell-by-cell, and the RNN's share of the cost
'''),
    code('''
speed = read("chrnn_speed")
if speed is not None:
    print(command("chrnn_speed"))
    layer = speed[speed["table"] == "layer"][["what", "value"]]
    display(layer)
    models = speed[speed["table"] != "layer"].dropna(axis=1, how="all")
    display(models)
'''),
]

KOO = [
    md('''
# Koo et al. 2018, DHNN (CNN-RNN / CNN-S2S): Table 1 at our scale

The paper: features tapped from several backbone layers feed a (bidirectional) LSTM through
converters (linear mode product, convolution, pooling); the FPL model (fixed path length)
with residual arcs and alternating CNN/RNN training, and an S2S decoder for general trees.
Table 1 compares a flat CNN with DHNN-RNN, -Alt (alternating training), -Resi (residual
arcs) and -Alt-Resi by path and node accuracy; the relative ordering is what a reproduction
can check.

Here: Fashion-MNIST, the small backbone, 2 epochs.
'''),
    code(RESULTS_SETUP),
    code('''
table1 = read("dhnn_table1")
if table1 is not None:
    print(command("dhnn_table1"))
    display(mean_std(table1, "model", ["path_accuracy", "node_accuracy"]))
    summary = table1.groupby("model", sort=False)[["path_accuracy", "node_accuracy"]].mean()
    (100 * summary).plot(kind="bar", figsize=(7, 3), ylim=(60, 95), rot=20, ylabel="test (%)")
    plt.show()
    display(table1.groupby("model", sort=False)["parameters"].first())
'''),
    md('''
## Table 3 analogue: converters (linear mode product, convolution, pooling) in the S2S model

With their parameter counts and memory (computed for the converters, measured for a whole\ntraining step), the paper's argument for the pooling converter.
'''),
    code('''
table3 = read("dhnn_table3")
if table3 is not None:
    display(mean_std(table3, "model", ["path_accuracy", "node_accuracy"]))
    display(table3.groupby("model", sort=False)[["parameters"]].first())
memory = read("dhnn_table3_memory")
if memory is not None:
    print(command("dhnn_table3_memory"))
    display(memory[["model", "converter_mem_ratio_to_pool", "peak_rss_ratio_to_pool"]].round(2))
'''),
    md('''
## General trees (S2S with an end token) and the multi-label mode

A variable-depth tree (paths may end at internal nodes) and two-item images scored by path
and node F1, when those runs exist.
'''),
    code('''
for name, columns in (("dhnn_variable", ["path_accuracy", "node_accuracy"]),
                      ("dhnn_multilabel", ["path_f1", "node_f1"])):
    if (RESULTS / f"{name}.csv").exists():
        print(name)
        display(mean_std(read(name), "model", columns))
'''),
]

NOTEBOOKS = {
    "quickstart.ipynb": QUICKSTART,
    "tuning.ipynb": TUNING,
    "guo2018_cnnrnn.ipynb": GUO,
    "dutt2017_mergedcnn.ipynb": DUTT,
    "minpoolnet.ipynb": MINPOOL,
    "zuo2016_chrnn.ipynb": ZUO,
    "koo2018_dhnn.ipynb": KOO,
}


def build(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                  "name": "python3"},
                   "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"  # stable ids: regenerating gives identical files
    return nb


def render(cells) -> str:
    return nbformat.writes(build(cells))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="only check the notebooks are current")
    p.add_argument("--out", default=str(HERE), help="folder to write to")
    args = p.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = Path(args.out) / name
        text = render(cells)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"Out of date (run python notebooks/make_notebooks.py): {stale}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
