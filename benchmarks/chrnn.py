"""C-HRNN (Zuo et al. 2016) at our scale: speed and memory ratios, Table II / VI analogues,
the 224 px presets on the CPU, and the zoo export.

    python benchmarks/chrnn.py speed          # wavefront vs cell-by-cell, training-step ratios
    python benchmarks/chrnn.py memory         # peak memory of a training step, C-HLSTM / SPP-net
    python benchmarks/chrnn.py paper224       # 224 px presets: build, one step, export (CPU)
    python benchmarks/chrnn.py accuracy --train-limit 8000 --epochs 2 --seeds 3 --export

Speed ratios are timed side by side in one process (medians of interleaved repeats), so
machine noise hits every candidate alike; absolute times on this shared CPU mean little.
Memory: `tf.config.experimental.get_memory_info` exists only for GPUs, so on the CPU we
report (a) the peak-RSS growth of a fresh process over one training step and (b) the bytes
of every tensor the forward pass produces (counted from the traced graph).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

VARIANTS = ["spp_net", "modified_cnn", "c_msrn", "c_hsrn", "c_mlstm", "c_hlstm"]
# Table VI analogue: one direction, two (down-right + up-right, the paper's first pair), four.
DIRECTION_SETS = {"1 (down_right)": ["down_right"], "2 (down_right, up_right)":
                  ["down_right", "up_right"], "4": "all"}
METRICS = ["coarse_accuracy", "medium_accuracy", "fine_accuracy", "exact_match",
           "consistency", "hF1"]


# ------------------------------------------------------------------ analytic cost
def macs_per_image(model):
    """Multiply-adds of one forward pass (convs, FC layers, hrnn6), counted from the weights."""
    from keras import layers

    conv = 0
    for layer in model.trunk.layers:
        if isinstance(layer, layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            conv += layer.output.shape[1] * layer.output.shape[2] * kh * kw * cin * cout
    dense = sum(int(d.kernel.shape[0] * d.kernel.shape[1]) for d in model.fc + model.classifiers)
    rnn = 0
    if model.hrnn is not None:
        for layer in model.hrnn.rnn_layers:
            d, c, gu = layer.kernel.shape
            h, w = layer.grid_shape
            links = (h - 1) * w + h * (w - 1) if layer.recurrence == "spatial" else 2 * h * w
            rnn += d * (h * w * c + links * layer.units) * gu
        sizes = model.hrnn._sizes
        for (j, _), kernel in zip(model.hrnn._scale_pairs, model.hrnn.scale_kernels):
            rnn += sizes[j][0] * sizes[j][1] * kernel.shape[0] * kernel.shape[1]
    return {"conv_macs": int(conv), "fc_macs": int(dense), "hrnn_macs": int(rnn)}


def forward_tensor_bytes(model, batch=1):
    """Bytes of all float tensors produced by a traced training-mode forward pass, per image."""
    import numpy as np
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=True))
    graph = fn.get_concrete_function(
        tf.TensorSpec((batch,) + model.image_shape, tf.float32)).graph
    total = 0
    for op in graph.get_operations():
        if op.type in ("Const", "Placeholder", "ReadVariableOp", "VarHandleOp", "Identity",
                       "Reshape", "Shape"):
            continue
        for t in op.outputs:
            if t.dtype.is_floating and t.shape.is_fully_defined():
                total += int(np.prod(t.shape)) * t.dtype.size
    return total / batch


# ------------------------------------------------------------------ speed
def layer_speed(batch=64, grid=6, channels=256, repeats=5):
    """Wavefront / cell-by-cell, forward + backward, SRN and LSTM, graph mode and XLA."""
    import numpy as np
    import tensorflow as tf

    from hier_keras.layers.spatial_rnn import SpatialRNN2D

    x = tf.constant(np.random.default_rng(0).uniform(0, 1, (batch, grid, grid, channels)),
                    tf.float32)
    rows = []
    for cell in ("srn", "lstm"):
        for jit in (False, True):
            fns = {}
            wave = SpatialRNN2D(channels, cell=cell)
            wave(x)
            ref = SpatialRNN2D(channels, cell=cell, implementation="cell")
            ref(x)
            ref.set_weights(wave.get_weights())
            for name, layer in (("wavefront", wave), ("cell_by_cell", ref)):
                @tf.function(jit_compile=jit)
                def step(layer=layer):
                    with tf.GradientTape() as tape:
                        tape.watch(x)
                        loss = tf.reduce_sum(tf.square(layer(x)))
                    return tape.gradient(loss, [x] + layer.trainable_weights)

                t0 = time.perf_counter()
                step()
                compile_s = time.perf_counter() - t0
                fns[name] = step
                rows.append({"what": f"{cell} {'XLA' if jit else 'graph'} {name} first call (s)",
                             "value": round(compile_s, 2)})
            med = harness.time_interleaved(fns, repeats, warmup=0).seconds
            rows.append({"what": f"{cell} {'XLA' if jit else 'graph'}: cell-by-cell / wavefront "
                                 f"fwd+bwd time ({grid}x{grid}x{channels}, batch {batch})",
                         "value": round(med["cell_by_cell"] / med["wavefront"], 2)})
            print(rows[-1], flush=True)
    return rows


def train_step_fn(model, batch, seed=0):
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = tf.constant(rng.uniform(0, 255, (batch,) + model.image_shape).astype("float32"))
    leaves = model.hierarchy.leaf_paths()
    y = tf.constant(leaves[rng.integers(0, len(leaves), batch)])
    model.compile(total_steps=1000)
    model.make_train_function()
    data = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
    fn = model.train_function
    return lambda: fn(data)


def model_speed(preset, variants, batch, repeats=7, warmup=2, **overrides):
    from hier_keras.models.chrnn import CHRNN

    fns, costs = {}, {}
    for v in variants:
        model = CHRNN.from_preset(preset, variant=v, **overrides)
        fns[v] = train_step_fn(model, batch)
        costs[v] = macs_per_image(model)
    med = harness.time_interleaved(fns, repeats, warmup=warmup).seconds
    rows = []
    for v in variants:
        total = sum(costs[v].values()) / sum(costs["spp_net"].values())
        rows.append({"preset": preset, "batch": batch, "variant": v,
                     "step_over_spp_net": round(med[v] / med["spp_net"], 3),
                     "macs_over_spp_net": round(total, 3),
                     "hrnn_share_of_macs": round(costs[v]["hrnn_macs"] / sum(costs[v].values()), 3),
                     **costs[v], "median_step_s": round(med[v], 4)})
        print(rows[-1], flush=True)
    return rows


def cmd_speed(args):
    import pandas as pd

    layer_rows = layer_speed(repeats=args.repeats)
    step_rows = model_speed("small_fashion_mnist", VARIANTS, args.batch_size,
                            repeats=args.repeats + 2)
    layer_df = pd.DataFrame(layer_rows)
    step_df = pd.DataFrame(step_rows)
    notes = ("One process, medians of interleaved repeats on this shared 2-core CPU. Layer: "
             "SpatialRNN2D, 4 directions, forward + backward (gradients of all weights and the "
             "input), `tf.function` without XLA ('graph') and with `jit_compile=True` ('XLA'); "
             "both implementations hoist the input projection, the reference then loops over "
             "directions and cells. Target: wavefront >= 3x faster. Training steps: preset "
             f"`small_fashion_mnist` (sppnet_small 32/64/64, units 64, fc256), batch "
             f"{args.batch_size}, Keras' compiled train function; MACs counted analytically "
             "per image (convs, FC layers, hrnn6). Target (paper, 224 px): C-HRNN step / "
             "SPP-net step <= 1.5.")
    harness.write_results(f"chrnn_speed{args.tag}",
                          pd.concat([layer_df.assign(table="layer"),
                                     step_df.assign(table="train_step")]),
                          harness.to_markdown(layer_df) + "\n\n" + harness.to_markdown(step_df),
                          args.command, notes)
    plot_bars(step_df, "variant", "step_over_spp_net", f"chrnn_speed{args.tag}.png",
              "training step / SPP-net step (small variant, CPU)", extra="macs_over_spp_net")


# ------------------------------------------------------------------ memory
def train_step(preset, variant, batch):
    """Set up one training step of a fresh model; `harness.peak_memory` measures the step."""
    from hier_keras.models.chrnn import CHRNN

    return train_step_fn(CHRNN.from_preset(preset, variant=variant), batch)


def rss_growth(preset, variant, batch):
    """Peak-RSS growth (bytes) of a fresh process over its first training step."""
    return harness.peak_memory("chrnn:train_step", preset=preset, variant=variant, batch=batch)


def cmd_memory(args):
    import pandas as pd

    from hier_keras.models.chrnn import CHRNN

    rows = []
    for preset, small, big in (("small_fashion_mnist", 8, args.batch_size), ("c_hlstm", 1, 8)):
        for v in ("spp_net", "c_hsrn", "c_hlstm"):
            name = preset if preset.startswith("small") else v
            grow_small = rss_growth(name, v, small)
            grow_big = rss_growth(name, v, big)
            model = CHRNN.from_preset(name, variant=v)
            rows.append({"preset": "small (28 px)" if preset.startswith("small") else "224 px",
                         "variant": v, "batch": big,
                         "rss_growth_MB": round(grow_big / 2**20, 1),
                         f"rss_growth_minus_batch_{small}_MB": round((grow_big - grow_small) / 2**20, 1),
                         "forward_tensor_MB_per_image": round(forward_tensor_bytes(model) / 2**20, 3)})
            del model
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    for preset, group in df.groupby("preset", sort=False):
        base = group[group.variant == "spp_net"].iloc[0]
        for i in group.index:
            col = [c for c in df.columns if c.startswith("rss_growth_minus")]
            df.loc[i, "rss_ratio_vs_spp_net"] = round(
                df.loc[i, col].dropna().iloc[0] / base[col].dropna().iloc[0], 3)
            df.loc[i, "tensor_ratio_vs_spp_net"] = round(
                df.loc[i, "forward_tensor_MB_per_image"] / base["forward_tensor_MB_per_image"], 3)
    notes = ("CPU only, so no allocator statistics: `rss_growth` is the peak-RSS growth of a "
             "fresh process over its first training step (includes tracing the step); the "
             "`minus_batch_k` column subtracts the same measurement at a small batch, leaving "
             "mostly the activations of the extra images; `forward_tensor_MB_per_image` adds the "
             "sizes of every float tensor the traced training-mode forward pass produces "
             "(an upper bound on what backprop keeps; XLA/graph fusion keeps less). The paper "
             "(Sec. IV-C.4) says hrnn6 costs little memory next to conv1's 1,161,600 outputs.")
    harness.write_results(f"chrnn_memory{args.tag}", df, harness.to_markdown(df), args.command,
                          notes)


# ------------------------------------------------------------------ 224 px presets
def cmd_paper224(args):
    import gc

    import keras
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    from hier_keras.models.chrnn import CHRNN

    rows, steps = [], {}
    variants = ["c_hlstm", "c_hsrn", "c_mlstm", "c_msrn", "spp_net", "modified_cnn"]
    x = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    for v in variants:
        t0 = time.perf_counter()
        model = CHRNN.from_preset(v)
        build_s = time.perf_counter() - t0
        hrnn = sum(int(np.prod(w.shape)) for w in model.weights
                   if "/hrnn6/" in w.path and not w.path.endswith("bias"))
        fn = train_step_fn(model, args.batch_224)
        t0 = time.perf_counter()
        logs = fn()
        first_s = time.perf_counter() - t0
        loss = float(logs["loss"])
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            model.save_to_preset(os.path.join(tmp, "preset"))
            loaded = CHRNN.from_preset(os.path.join(tmp, "preset"))
            same = bool(np.allclose(loaded.predict(x, verbose=0)["fine"],
                                    model.predict(x, verbose=0)["fine"], atol=1e-5))
            del loaded
            model.export(os.path.join(tmp, "saved_model"))
            served = tf.saved_model.load(os.path.join(tmp, "saved_model"))
            same_sm = bool(np.allclose(np.asarray(served.serve(tf.constant(x))["fine"]),
                                       model.predict(x, verbose=0)["fine"], atol=1e-5))
            del served
            export_s = time.perf_counter() - t0
        rows.append({"variant": v, "parameters": model.count_params(), "hrnn_matrices": hrnn,
                     "build_s": round(build_s, 1), "first_step_s": round(first_s, 1),
                     "loss_finite": bool(np.isfinite(loss)),
                     "preset_round_trip": same, "saved_model_same": same_sm,
                     "export_s": round(export_s, 1), **macs_per_image(model)})
        print(rows[-1], flush=True)
        if v in ("c_hlstm", "c_hsrn", "spp_net"):
            steps[v] = fn
        else:
            del model, fn
        gc.collect()
    med = harness.time_interleaved(steps, args.repeats, warmup=0).seconds
    spp = next(r for r in rows if r["variant"] == "spp_net")
    for r in rows:
        total = r["conv_macs"] + r["fc_macs"] + r["hrnn_macs"]
        r["macs_over_spp_net"] = round(total / (spp["conv_macs"] + spp["fc_macs"]), 3)
        if r["variant"] in med:
            r["step_over_spp_net"] = round(med[r["variant"]] / med["spp_net"], 3)
            r["median_step_s"] = round(med[r["variant"]], 2)
    df = pd.DataFrame(rows)
    notes = (f"224x224x3 presets (CIFAR-100 tree, Table I network), CPU, batch {args.batch_224} "
             "random images: build, one SGD training step (first call includes tracing), "
             "save_to_preset + reload and SavedModel export with the same predictions. Step "
             f"ratios: medians of {args.repeats} interleaved steps after the first. No GPU was "
             "available to this run, so no GPU timings.")
    harness.write_results(f"chrnn_paper224{args.tag}", df, harness.to_markdown(df), args.command,
                          notes)
    del keras


# ------------------------------------------------------------------ accuracy
def cmd_accuracy(args):
    import pandas as pd

    from hier_keras.models.chrnn import CHRNN

    data = harness.load_data(args.source, args.train_limit)
    configs = [(v, v, "all") for v in args.variants]
    for label, dirs in DIRECTION_SETS.items():
        if dirs != "all":
            configs += [(f"{v} dirs={label}", v, dirs) for v in args.direction_variants]
    rows, best = [], None
    partial = harness.result_path(f"chrnn_accuracy{args.tag}_partial.csv")
    for seed in range(args.seeds):
        for name, variant, dirs in configs:
            res, model = harness.train_and_evaluate(
                lambda: CHRNN.from_preset(args.preset, variant=variant, directions=dirs), data,
                seed=seed, epochs=args.epochs, batch_size=args.batch_size,
                steps_per_epoch=args.steps_per_epoch, verbose=args.verbose)
            seconds = res.pop("train_seconds")
            n_dirs = 0 if variant == "spp_net" else len(model.directions)
            rows.append({"model": name, "variant": variant, "directions": n_dirs, "seed": seed,
                         "train_seconds": seconds, **res})
            print({k: rows[-1][k] for k in ("model", "seed", "train_seconds", "fine_accuracy")},
                  flush=True)
            if (variant.startswith("c_") and dirs == "all"
                    and (best is None or res["fine_accuracy"] > best[0])):
                best = (res["fine_accuracy"], name, seed)
                model.save_to_preset(args.runs_dir, metrics=res, overwrite=True, dataset="fashion_mnist",
                                     data_source=data["source"], split="test", epochs=args.epochs,
                                     seed=seed)
            pd.DataFrame(rows).to_csv(partial, index=False)
    df = pd.DataFrame(rows)
    metrics = [m for m in METRICS if m in df.columns]
    notes = (f"Preset `{args.preset}` (sppnet_small 32/64/64, units 64, fc256, Adam 2e-3 cosine) "
             f"with `variant=` / `directions=` overrides; {args.epochs} epochs, batch "
             f"{args.batch_size}; data: {data['source']} Fashion-MNIST, first "
             f"{len(data['x_train'])} train images, full test set ({len(data['x_test'])}); "
             f"seeds 0..{args.seeds - 1}. Reduced scale to fit a shared 2-core CPU: differences "
             "below ~1 std are noise. Table II analogue: the variant rows; Table VI analogue: the "
             "`dirs=` rows and the 4-direction row of the same variant. Best C-HRNN (by fine "
             f"accuracy): {best[1]} seed {best[2]} ({best[0]:.4f}).")
    harness.write_results(f"chrnn_accuracy{args.tag}", df,
                          harness.mean_std_table(df, ["model"], metrics), args.command, notes)
    os.remove(partial)
    plot_accuracy(df, f"chrnn_accuracy{args.tag}.png")
    if args.export:
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "export_zoo.py"),
                        args.runs_dir, "chrnn_small_fashion_mnist", "--command",
                        f"{args.command}  (best C-HRNN: {best[1]}, seed {best[2]})"], check=True)


def plot_bars(df, x, y, filename, title, extra=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 3.5))
    pos = np.arange(len(df))
    width = 0.4 if extra else 0.6
    ax.bar(pos - (width / 2 if extra else 0), df[y], width, label=y)
    if extra:
        ax.bar(pos + width / 2, df[extra], width, label=extra)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(pos, df[x], rotation=20)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(harness.result_path(filename), dpi=120)


def plot_accuracy(df, filename):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = df.groupby("model", sort=False)["fine_accuracy"]
    mean, std = g.mean() * 100, g.std(ddof=1).fillna(0) * 100
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.bar(range(len(mean)), mean, yerr=std, capsize=3)
    ax.set_xticks(range(len(mean)), mean.index, rotation=25, ha="right")
    ax.set_ylim(max(0, mean.min() - 5), min(100, mean.max() + 2))
    ax.set_ylabel("fine accuracy (%)")
    ax.set_title("C-HRNN variants, Fashion-MNIST (small variant, reduced scale)")
    fig.tight_layout()
    fig.savefig(harness.result_path(filename), dpi=120)


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=2)
    p.add_argument("part", choices=["speed", "memory", "paper224", "accuracy"])
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--variant", default="c_hlstm")
    p.add_argument("--variants", nargs="+", default=VARIANTS)
    p.add_argument("--direction-variants", nargs="+", default=["c_hlstm"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-224", type=int, default=4)
    p.add_argument("--export", action="store_true", help="export the best C-HRNN to zoo/")
    p.add_argument("--runs-dir", default=str(harness.ROOT / "runs" / "chrnn_best"))
    args = p.parse_args(argv)
    args.command = harness.command_line(__file__, argv)
    {"speed": cmd_speed, "memory": cmd_memory, "paper224": cmd_paper224,
     "accuracy": cmd_accuracy}[args.part](args)


if __name__ == "__main__":
    main()
