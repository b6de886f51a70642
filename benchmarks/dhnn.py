"""DHNN (Koo, Klabjan, Utke 2018) on Fashion-MNIST: analogues of Tables 1 and 3, a
variable-depth tree, and multi-label images (two items side by side).

- `table1`: fixed paths (the 3-level tree): flat CNN, DHNN-RNN, + alternating training,
  + residual arcs, + both: path and node accuracy.
- `table3`: CNN-S2S with linear / conv / pool converters and the large pool S2S: path and
  node accuracy, parameters, peak memory of a training step as a ratio to the pool converter
  (measured in fresh subprocesses: peak RSS growth over the process's RSS before the model
  is built, at batch 256).
- `variable`: a variable-depth tree from Fashion-MNIST (Trouser, Dress, Coat and Bag, the only
  children of their level-2 classes, are removed, so Bottoms, Dresses, Outers and
  Accessories become leaves at level 2 and those paths stop after two nodes): S2S vs flat CNN.
- `multilabel`: 28x56 images holding two Fashion-MNIST items side by side (two paths per
  image); sigmoid outputs, threshold tuned for the best path F1 on a validation split (train
  images beyond `--train-limit`), path and node F1 on the test pairs.

The flat CNN is the same small backbone with one softmax over the leaves (sigmoid over all
nodes for multi-label); its predicted leaf gives the whole path (the paper's Remark 1).
All models: Adam 2e-3 with a cosine decay to 0 over the run; metrics after the last epoch.

    python benchmarks/dhnn.py --train-limit 6000 --epochs 2 --seeds 2 --export-dir /tmp/dhnn_runs
    python benchmarks/dhnn.py --parts table3_memory   # memory of the Table 3 models only
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import harness  # noqa: E402

LR = 2e-3


def _compile_flat(multi_label):
    """`(model, total_steps)` -> compiled with Adam, cosine decay to 0 over the run."""
    def compile_flat(model, steps):
        import keras

        lr = keras.optimizers.schedules.CosineDecay(LR, steps)
        loss = "binary_crossentropy" if multi_label else "sparse_categorical_crossentropy"
        model.compile(keras.optimizers.Adam(lr), loss=loss)

    return compile_flat


def flat_cnn(tree, input_shape, multi_label=False, widths=(32, 64, 128)):
    """Small backbone + one softmax over the leaves (or sigmoid over all nodes)."""
    import keras

    import hier_keras as hk
    from hier_keras.models.dhnn.dhnn_presets import FASHION_MNIST_MEAN, FASHION_MNIST_STD

    inp = keras.Input(input_shape)
    x = keras.layers.Rescaling(1 / FASHION_MNIST_STD, -FASHION_MNIST_MEAN / FASHION_MNIST_STD)(inp)
    feats = hk.backbones.build_backbone("small", input_shape, widths=widths)(x)["features"]
    n = tree.num_nodes if multi_label else len(tree.leaf_paths())
    out = keras.layers.Dense(n, activation="sigmoid" if multi_label else "softmax")(feats)
    return keras.Model(inp, out, name="flat_cnn")


def leaf_index(tree, labels):
    leaves = tree.leaf_paths()
    lookup = {tuple(r): i for i, r in enumerate(leaves)}
    return np.array([lookup[tuple(r)] for r in labels], np.int32)


def path_metrics(tree, y, paths):
    import hier_keras as hk

    return {"path_accuracy": hk.metrics.path_accuracy(y, paths, tree),
            "node_accuracy": hk.metrics.node_accuracy(y, paths),
            "consistency": hk.metrics.consistency(paths, tree)}


def seeded_fit(build, x, y, args, seed, score, compile=None, callbacks=()):
    """`harness.train_and_evaluate` on arrays: `(metrics of score(model), model, seconds)`."""
    row, model = harness.train_and_evaluate(
        build, ((x, y), None), seed=seed, epochs=args.epochs, batch_size=args.batch_size,
        verbose=args.verbose, evaluate=score, compile=compile, callbacks=[cb() for cb in callbacks])
    seconds = row.pop("train_seconds")
    return row, model, seconds


def train_flat(tree, x, y, xt, yt, args, seed):
    def score(model):
        return path_metrics(tree, yt, tree.leaf_paths()[model.predict(xt, batch_size=512,
                                                                      verbose=0).argmax(-1)])

    row, model, secs = seeded_fit(lambda: flat_cnn(tree, x.shape[1:]), x, leaf_index(tree, y),
                                  args, seed, score, compile=_compile_flat(False))
    return {**row, "parameters": model.count_params(), "train_s": secs}


def train_dhnn(tree, x, y, xt, yt, args, seed, callbacks=(), save=None, **config):
    import hier_keras as hk

    preset = config.pop("preset")
    row, model, secs = seeded_fit(
        lambda: hk.models.DHNN.from_preset(preset, hierarchy=tree, **config), x, y, args, seed,
        lambda m: path_metrics(tree, yt, m.predict_label_paths(xt, batch_size=500)),
        callbacks=callbacks)
    row = {**row, "parameters": model.count_params(), "train_s": secs}
    if save:
        model.save_to_preset(save, metrics={"exact_match": row["path_accuracy"]}, overwrite=True,
                             seed=seed,
                             epochs=args.epochs, data_source=args.source)
    return row


def alternating(args, n_train):
    from hier_keras.training import AlternatingTraining

    # Each of RNN-only and CNN-only gets a quarter of the first epoch, then everything trains.
    quarter = max(1, math.ceil(n_train / args.batch_size) // 4)
    return lambda: AlternatingTraining([("rnn", quarter), ("cnn", quarter), ("all", None)],
                                       unit="step")


# ------------------------------------------------------------------ experiments
def table1(data, args, seeds):
    tree = data["hierarchy"]
    x, y, xt, yt = data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    configs = [
        ("flat CNN", None, False, False),
        ("DHNN-RNN", "rnn", False, False),
        ("DHNN-RNN-Alt", "rnn", True, False),
        ("DHNN-RNN-Resi", "rnn", False, True),
        ("DHNN-RNN-Alt-Resi", "rnn", True, True),
    ]
    rows = []
    for seed in seeds:
        for name, dec, alt, res in configs:
            if dec is None:
                r = train_flat(tree, x, y, xt, yt, args, seed)
            else:
                save = (os.path.join(args.export_dir, f"table1_{name}_seed{seed}")
                        if args.export_dir else None)
                r = train_dhnn(tree, x, y, xt, yt, args, seed,
                               callbacks=[alternating(args, len(x))] if alt else (),
                               save=save, preset="small_rnn_fashion_mnist", residual=res)
            rows.append({"table": "table1", "model": name, "seed": seed, **r})
            print(json.dumps(rows[-1]), flush=True)
    return rows


S2S_CONFIGS = [
    ("S2S-Linear", dict(converter="linear")),
    ("S2S-Conv", dict(converter="conv")),
    ("S2S-Pool", dict(converter="pool")),
    ("S2S-Pool-L", dict(converter="pool", input_dim=512, units=256)),
]


def table3(data, args, seeds):
    tree = data["hierarchy"]
    x, y, xt, yt = data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    rows = []
    for seed in seeds:
        for name, cfg in S2S_CONFIGS:
            save = (os.path.join(args.export_dir, f"table3_{name}_seed{seed}")
                    if args.export_dir else None)
            r = train_dhnn(tree, x, y, xt, yt, args, seed, save=save,
                           preset="small_s2s_fashion_mnist", **cfg)
            rows.append({"table": "table3", "model": name, "seed": seed, **r})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def s2s_training(cfg, batch=256, steps=3):
    """Set up (imports, a random batch); the returned callable builds a Table 3 model and
    trains it `steps` steps: what `harness.peak_memory` measures."""
    import hier_keras as hk

    x = np.random.default_rng(0).uniform(0, 255, (batch, 28, 28, 1)).astype("float32")
    y = hk.Hierarchy.fashion_mnist().complete(np.arange(batch) % 10)

    def build_and_train():
        model = hk.models.DHNN.from_preset("small_s2s_fashion_mnist", **cfg)
        model.compile(total_steps=steps)
        model.fit(x, y, batch_size=batch, epochs=steps, verbose=0)

    return build_and_train


def peak_memory(cfg, batch=256, steps=3):
    """Peak RSS growth (MB) of building + training a model, in a fresh process."""
    return harness.peak_memory("dhnn:s2s_training", cfg=cfg, batch=batch, steps=steps) / 2**20


def converter_memory(model, batch=256):
    """Float32 MB a training step holds for the converters: weights, gradients and Adam's two
    moments (4 copies of the parameters) plus the converter activations kept for backward."""
    from hier_keras.layers.converters import ConvConverter, ModeProductConverter, PoolConverter

    floats = 0
    for stage, conv in model.converters.items():
        h, w, d = model.backbone.output[stage].shape[1:]
        floats += 4 * conv.count_params()
        if isinstance(conv, PoolConverter):
            h, w, d = conv.choice["pooled_shape"]
            floats += batch * h * w * d
            conv = conv.projection
        if isinstance(conv, ModeProductConverter):
            floats += batch * (h * w * conv.m + h * conv.n * conv.m + conv.output_dim)
        elif isinstance(conv, ConvConverter):
            z = conv.choice["padding"]
            floats += batch * ((h + 2 * z) * (w + 2 * z) * d if z else 0) + batch * conv.p
    return 4 * floats / 2**20


def table3_memory(data, args, seeds):
    import hier_keras as hk

    rows = []
    for name, cfg in S2S_CONFIGS:
        model = hk.models.DHNN.from_preset("small_s2s_fashion_mnist", **cfg)
        rows.append({"table": "table3_memory", "model": name, "parameters": model.count_params(),
                     "converter_parameters": sum(c.count_params() for c in model._converter_list),
                     "converter_train_mb": converter_memory(model),
                     "peak_rss_growth_mb": peak_memory(cfg)})
        print(json.dumps(rows[-1]), flush=True)
    pool = next(r for r in rows if r["model"] == "S2S-Pool")
    for r in rows:
        r["converter_mem_ratio_to_pool"] = r["converter_train_mb"] / pool["converter_train_mb"]
        r["peak_rss_ratio_to_pool"] = r["peak_rss_growth_mb"] / pool["peak_rss_growth_mb"]
    return rows


def variable_tree():
    import hier_keras as hk

    fm = hk.Hierarchy.fashion_mnist()
    drop = {"Trouser", "Dress", "Coat", "Bag"}
    paths = [fm.path_names(p) for p in fm.leaf_paths()]
    paths = [p[:2] if p[-1] in drop else p for p in paths]
    return hk.Hierarchy.from_paths(paths, level_names=fm.level_names), fm


def to_variable(tree, fm, labels):
    out = []
    for row in labels:
        names = fm.path_names(row)
        if names[-1] in {"Trouser", "Dress", "Coat", "Bag"}:
            names = names[:2]
        p = tree.path_from_names(names)
        out.append(p)
    return np.array(out, np.int32)


def variable(data, args, seeds):
    tree, fm = variable_tree()
    x, xt = data["x_train"], data["x_test"]
    y, yt = to_variable(tree, fm, data["y_train"]), to_variable(tree, fm, data["y_test"])
    rows = []
    for seed in seeds:
        r = train_flat(tree, x, y, xt, yt, args, seed)
        rows.append({"table": "variable", "model": "flat CNN", "seed": seed, **r})
        print(json.dumps(rows[-1]), flush=True)
        r = train_dhnn(tree, x, y, xt, yt, args, seed, preset="small_s2s_fashion_mnist")
        rows.append({"table": "variable", "model": "S2S-Pool", "seed": seed, **r})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def pairs(x, y, n, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(x), n), rng.integers(0, len(x), n)
    return np.concatenate([x[a], x[b]], axis=2), np.stack([y[a], y[b]], axis=1)


def node_multi_hot(tree, paths):
    offs = tree.node_offsets
    out = np.zeros((len(paths), tree.num_nodes), np.float32)
    for i, rows in enumerate(paths):
        for row in rows:
            for level, c in enumerate(row):
                if c >= 0:
                    out[i, offs[level] + c] = 1
    return out


def multilabel(data, args, seeds):
    import hier_keras as hk

    tree = data["hierarchy"]
    n = len(data["x_train"])
    full = data["full_train"]
    xv_src, yv_src = full["x"][n:n + 4000], full["y"][n:n + 4000]
    rows = []
    for seed in seeds:
        x, y = pairs(data["x_train"], data["y_train"], n, seed)
        xv, yv = pairs(xv_src, yv_src, 2000, 100 + seed)
        xt, yt = pairs(data["x_test"], data["y_test"], len(data["x_test"]), 200 + seed)
        def split(s):
            offs = tree.node_offsets
            return {name: s[:, offs[l]:offs[l] + tree.level_sizes[l]]
                    for l, name in enumerate(tree.level_names)}

        def flat_f1(model):
            thr, _ = hk.metrics.tune_threshold(
                yv, split(model.predict(xv, batch_size=512, verbose=0)), tree)
            res = hk.metrics.multilabel_f1(
                yt, split(model.predict(xt, batch_size=512, verbose=0)), tree, thr)
            return {"threshold": thr, **res}

        def dhnn_f1(model):
            thr = model.tune_threshold(xv, yv)
            res = hk.metrics.multilabel_f1(yt, model.predict(xt, batch_size=512, verbose=0),
                                           tree, thr)
            return {"threshold": thr, **res}

        # Flat CNN: sigmoid over all nodes.
        res, flat, _ = seeded_fit(lambda: flat_cnn(tree, x.shape[1:], multi_label=True), x,
                                  node_multi_hot(tree, y), args, seed, flat_f1,
                                  compile=_compile_flat(True))
        rows.append({"table": "multilabel", "model": "flat CNN (sigmoid)", "seed": seed,
                     **res, "parameters": flat.count_params()})
        print(json.dumps(rows[-1]), flush=True)
        for name, preset in (("DHNN-RNN-Resi", "small_rnn_fashion_mnist"),
                             ("S2S-Pool", "small_s2s_fashion_mnist")):
            res, model, _ = seeded_fit(
                lambda: hk.models.DHNN.from_preset(preset, input_shape=(28, 56, 1),
                                                   multi_label=True), x, y, args, seed, dhnn_f1)
            rows.append({"table": "multilabel", "model": name, "seed": seed, **res,
                         "parameters": model.count_params()})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=2, seeds=2)
    p.add_argument("--parts", default="table1,table3,variable,multilabel")
    p.add_argument("--export-dir", default=None, help="save every DHNN run as a preset dir here")
    args = p.parse_args(argv)
    data = harness.load_data(args.source, None)
    data["full_train"] = {"x": data["x_train"], "y": data["y_train"]}
    if args.train_limit:
        data["x_train"] = data["x_train"][:args.train_limit]
        data["y_train"] = data["y_train"][:args.train_limit]
    seeds = list(range(args.seeds))
    command = harness.command_line(__file__, argv)
    start = time.perf_counter()
    scale = (f"Scale: {len(data['x_train'])} training images ({data['source']} Fashion-MNIST), "
             f"{args.epochs} epochs, batch {args.batch_size}, seeds {seeds}, the full "
             f"{len(data['x_test'])}-image test set; Adam {LR} with cosine decay to 0, metrics "
             "after the last epoch; mean +- std over seeds. A reduced scale for a shared 2-core "
             "CPU: absolute figures are far below full training; compare rows.")
    parts = args.parts.split(",")
    fns = {"table1": table1, "table3": table3, "variable": variable, "multilabel": multilabel,
           "table3_memory": table3_memory}
    for part in parts:
        rows = fns[part](data, args, seeds)
        df = pd.DataFrame(rows)
        tag = f"_{args.tag}" if args.tag else ""
        if part == "table3_memory":
            cols = ["model", "parameters", "converter_parameters", "converter_train_mb",
                    "converter_mem_ratio_to_pool", "peak_rss_growth_mb", "peak_rss_ratio_to_pool"]
            md = harness.to_markdown(df[cols].round(3))
            notes = ("Memory of a training step at batch 256 for the Table 3 models (no "
                     "training run; sizes from the built models). `converter_train_mb`: "
                     "computed, not measured: float32 weights, gradients and Adam's two "
                     "moments of the converters plus the converter activations kept for "
                     "backward. `peak_rss_growth_mb`: measured, peak RSS growth of a fresh "
                     "process building the model and running 3 training steps (graph tracing "
                     "and the TF runtime dominate it at 28x28 input, so its ratio stays near "
                     "1). The CPU exposes no per-step allocator peak as a GPU does.")
            harness.write_results(f"dhnn_{part}{tag}", df, md, command, notes)
            continue
        if part == "multilabel":
            metrics = ["path_f1", "node_f1", "threshold"]
            md = harness.mean_std_table(df, ["model"], ["path_f1", "node_f1"])
            notes = (scale + " Test: 10,000 pairs of test images; validation (threshold "
                     "tuning, grid 0.05..0.95 for the best path F1): 2,000 pairs of train "
                     "images not used in training. Path F1 / node F1: micro-averaged (see "
                     "`hk.metrics.multilabel_f1`).")
        else:
            metrics = ["path_accuracy", "node_accuracy"]
            md = harness.mean_std_table(df, ["model"], metrics)
            extra = df.groupby("model", sort=False)[["parameters"]].first().reset_index()
            md += "\n\n" + harness.to_markdown(extra)
            notes = scale
            if part == "table3":
                notes += (" Converters map each tapped stage to p = 128 (large: p = 512, "
                          "hidden 256; others hidden 128). Memory ratios to the pool "
                          "converter: `dhnn_table3_memory.md` (`--parts table3_memory`, run "
                          "alone so that no other process shares the measurement).")
            if part == "variable":
                notes += (" Variable-depth tree: 6 paths of length 3 and 4 of length 2. Path "
                          "accuracy is strict (`hk.metrics.path_accuracy`).")
        harness.write_results(f"dhnn_{part}{tag}", df, md, command,
                              notes + f" Wall time so far: {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
