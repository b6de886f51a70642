"""MinPoolNet weak supervision at our scale: Tables I/II/IV, the lambda sweep (Fig. 5), cost ratio.

Min-pooling paper (PAPERS.md section 4) on Fashion-MNIST with its 3-level tree.
For each seed the train pool is split per fine class (`hk.data.partial_labels`)
into S_fine (full label paths) and S_coarse (fine label hidden, -1; with
`--coarse-labels parent`, the default, S_coarse keeps every coarser level, as
in the paper's 2-level setting where "coarse" is the parent of the fine
class; `root` keeps level 0 only, as `partial_labels` returns). Settings are
`fine:coarse` percentages of the pool: Table II `10:50, 20:50, 50:50`, Table
IV `50:10, 50:20, 50:50`.

Methods, all on the same backbone and the same number of optimizer steps
(`--steps`, batch `--batch-size`; no augmentation):

- `baseline`: MinPoolNet with lambda = 0 on S_fine only (standard fine
  classification; the paper's baseline);
- `minpoolnet`: MinPoolNet (eq. 7, lambda = 1) on S_fine + S_coarse with
  ratio-keeping batches (`hk.data.ratio_batches`);
- `pseudo_label`: CNN-RNN (`CNNRNN.from_preset("small_fashion_mnist")`,
  same backbone) with `hk.training.pseudo_label_fit`: train on S_fine,
  pseudo-label S_coarse with its known coarser labels fed first (CNN-RNN*),
  retrain on both (twice the steps of one training);
- `oracle`: MinPoolNet with lambda = 0 on S_fine + S_coarse with the true fine
  labels (the upper bound).

`gap_closed = (method - baseline) / (oracle - baseline)` per seed, then
averaged. Also the lambda sweep of Fig. 5 at one setting, and the cost of a
MinPoolNet training step relative to a flat fine classifier on the same
backbone (`HierarchicalCNN`, `head="single"`). The best MinPoolNet (test
fine accuracy) is exported to `zoo/` with its label fractions.

    python benchmarks/minpoolnet.py --train-limit 10000 --steps 600 --seeds 3
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

ZOO_NAME = "minpoolnet_small_fashion_mnist"


def weak_split(y, tree, fine_fraction, coarse_fraction, seed, coarse_labels="parent"):
    """`hk.data.partial_labels` with the coarser labels of S_coarse kept: `(labels, is_fine,
    keep)`; S_coarse loses its fine label (-1), with `coarse_labels="root"` every level but 0."""
    import hier_keras as hk

    _, is_fine, keep = hk.data.partial_labels(y, tree, fine_fraction=fine_fraction,
                                              coarse_fraction=coarse_fraction, seed=seed)
    labels = y.copy()
    labels[~is_fine, -1] = -1
    if coarse_labels == "root":
        labels[~is_fine, 1:] = -1
    return labels, is_fine, keep


def class_subset(y, per_class, seed):
    """Indices of `per_class` random images of every fine class (the exploratory runs' pools)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return np.concatenate([rng.permutation(np.flatnonzero(y[:, -1] == c))[:per_class]
                           for c in range(int(y[:, -1].max()) + 1)])


def method_data(method, images, y, labels, is_fine):
    """`(images, labels, is_fine)` a method trains on: `baseline` S_fine alone, `oracle`
    every image with its true labels, otherwise (MinPoolNet) S_fine + S_coarse."""
    import numpy as np

    if method == "baseline":
        return images[is_fine], y[is_fine], np.ones(int(is_fine.sum()), bool)
    if method == "oracle":
        return images, y, np.ones(len(y), bool)
    return images, labels, is_fine


def weak_batches(images, labels, is_fine, tree, batch_size, seed):
    """Ratio-keeping batches of S_fine + S_coarse, or plain shuffled batches of one set."""
    import hier_keras as hk

    if is_fine.all() or not is_fine.any():
        # One labelled set: plain shuffled batches (ratio_batches needs both sets).
        return hk.data.from_arrays(images, labels, tree, batch_size=batch_size, shuffle=True,
                                   seed=seed).repeat()
    return hk.data.ratio_batches(images, labels, is_fine, batch_size=batch_size, seed=seed)


def train_steps(build, images, labels, is_fine, tree, steps, batch_size, seed, test,
                verbose=0):
    """A seeded run of `steps` optimizer steps on weak batches: `(harness row, model)`."""
    return harness.train_and_evaluate(
        build, lambda model: (weak_batches(images, labels, is_fine, tree, batch_size, seed), test),
        seed=seed, steps=steps, steps_per_epoch=steps, verbose=verbose)


def parse_settings(text):
    out = []
    for item in text.split(","):
        fine, coarse = item.split(":")
        out.append((float(fine) / 100, float(coarse) / 100))
    return out


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=1, seeds=3)
    p.add_argument("--steps", type=int, default=600, help="optimizer steps per training")
    p.add_argument("--settings", default="10:50,20:50,50:50,50:10,50:20")
    p.add_argument("--methods", default="baseline,minpoolnet,pseudo_label,oracle")
    p.add_argument("--lambdas", default="0.25,0.5,1,2,4")
    p.add_argument("--lambda-setting", default="10:50")
    p.add_argument("--lambda-seeds", type=int, default=None, help="seeds of the sweep")
    p.add_argument("--coarse-labels", default="parent", choices=["parent", "root"])
    p.add_argument("--loss-reduction", default="batch", choices=["batch", "labelled"])
    p.add_argument("--widths", default="16,32,64", help="widths of the small backbone")
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--cost-batch", type=int, default=128)
    p.add_argument("--export", default=ZOO_NAME, help="zoo entry name; '' to skip the zoo export")
    p.set_defaults(batch_size=64, tag="")
    args = p.parse_args(argv)

    import keras
    import pandas as pd

    import hier_keras as hk
    from hier_keras.models.minpoolnet import MinPoolNet
    from hier_keras.training import pseudo_label_fit

    command = harness.command_line(__file__, argv)
    data = harness.load_data(args.source, args.train_limit)
    tree = hk.Hierarchy.fashion_mnist()
    x, y = data["x_train"], data["y_train"]
    xt, yt = data["x_test"], data["y_test"]
    if args.test_limit:
        xt, yt = xt[:args.test_limit], yt[:args.test_limit]
    xt = xt.astype("float32")
    widths = [int(w) for w in args.widths.split(",")]
    training = {"optimizer": "sgd", "learning_rate": args.learning_rate, "momentum": 0.9,
                "nesterov": True, "weight_decay": 5e-4, "schedule": {"type": "cosine"},
                "batch_size": args.batch_size, "augment": False}
    methods = args.methods.split(",")
    steps, bs = args.steps, args.batch_size

    def build_minpool(lam):
        return MinPoolNet.from_preset("small_fashion_mnist", backbone_kwargs={"widths": widths},
                                      coarse_loss_weight=lam, loss_reduction=args.loss_reduction,
                                      training_config=training)

    def build_cnnrnn():
        return hk.models.CNNRNN.from_preset("small_fashion_mnist",
                                            backbone_kwargs={"widths": widths},
                                            training_config=training)

    def fine_accuracy(model):
        return harness.evaluate_row(model, (xt, yt), batch_size=500)["fine_accuracy"]

    def split(fine_frac, coarse_frac, seed):
        labels, is_fine, keep = weak_split(y, tree, fine_frac, coarse_frac, seed,
                                           args.coarse_labels)
        return labels[keep], is_fine[keep], x[keep], y[keep]

    rows, best = [], None
    cache = {}  # baseline / oracle runs shared between settings

    def run_minpool(key, lam, images, labels, is_fine, seed, setting):
        nonlocal best
        if key is not None and key in cache:
            return cache[key]
        row, model = train_steps(lambda: build_minpool(lam), images, labels, is_fine, tree,
                                 steps, bs, seed, (xt, yt), args.verbose)
        acc, secs = row["fine_accuracy"], row["train_seconds"]
        if lam > 0 and (best is None or acc > best[0]):
            best = (acc, model, setting, lam, seed)
        out = (acc, secs)
        if key is not None:
            cache[key] = out
        return out

    settings = parse_settings(args.settings)
    lambda_setting = parse_settings(args.lambda_setting)[0]
    lambdas = [float(v) for v in args.lambdas.split(",")] if args.lambdas else []
    for seed in range(args.seeds):
        for fine_frac, coarse_frac in settings:
            labels, is_fine, xs, ys = split(fine_frac, coarse_frac, seed)
            base = {"fine_pct": round(100 * fine_frac), "coarse_pct": round(100 * coarse_frac),
                    "seed": seed, "n_fine": int(is_fine.sum()), "n_coarse": int((~is_fine).sum())}
            setting = (fine_frac, coarse_frac)
            for method in methods:
                t0 = time.perf_counter()
                extra = {}
                if method in ("baseline", "oracle"):  # lambda 0; shared by the settings
                    # with the same S_fine (baseline) or the same pool (oracle)
                    pool = fine_frac if method == "baseline" else fine_frac + coarse_frac
                    acc, _ = run_minpool((method, pool, seed), 0.0,
                                         *method_data(method, xs, ys, labels, is_fine), seed,
                                         setting)
                elif method == "minpoolnet":
                    acc, _ = run_minpool(None, 1.0, xs, labels, is_fine, seed, setting)
                elif method == "pseudo_label":
                    keras.utils.set_random_seed(seed)
                    out = pseudo_label_fit(
                        build_cnnrnn, xs[is_fine], ys[is_fine], xs[~is_fine], labels[~is_fine],
                        epochs=max(1, round(steps * bs / max(int(is_fine.sum()), 1))),
                        retrain_epochs=max(1, round(steps * bs / len(ys))), batch_size=bs,
                        augment=False, seed=seed, y_coarse_true=ys[~is_fine])
                    acc = fine_accuracy(out["model"])
                    extra = {"pseudo_label_accuracy": out["pseudo_label_accuracy"]}
                else:
                    raise ValueError(f"Unknown method {method!r}.")
                rows.append({**base, "method": method, "fine_accuracy": acc,
                             "seconds": time.perf_counter() - t0, **extra})
                print(rows[-1], flush=True)
        for lam in lambdas if seed < (args.lambda_seeds or args.seeds) else []:
            labels, is_fine, xs, ys = split(*lambda_setting, seed)
            if lam == 1.0 and lambda_setting in settings and "minpoolnet" in methods:
                acc = next(r["fine_accuracy"] for r in rows if r["method"] == "minpoolnet"
                           and r["seed"] == seed and r["fine_pct"] == round(100 * lambda_setting[0])
                           and r["coarse_pct"] == round(100 * lambda_setting[1]))
            else:
                acc, _ = run_minpool(None, lam, xs, labels, is_fine, seed, lambda_setting)
            rows.append({"fine_pct": round(100 * lambda_setting[0]),
                         "coarse_pct": round(100 * lambda_setting[1]), "seed": seed,
                         "method": f"lambda={lam:g}", "fine_accuracy": acc})
            print(rows[-1], flush=True)

    df = pd.DataFrame(rows)
    # Share of the baseline-to-oracle gap closed, per seed and setting.
    gaps = []
    for (f, c, s), g in df[~df.method.str.startswith("lambda")].groupby(
            ["fine_pct", "coarse_pct", "seed"]):
        acc = dict(zip(g.method, g.fine_accuracy))
        if "baseline" in acc and "oracle" in acc and acc["oracle"] > acc["baseline"]:
            for m in ("minpoolnet", "pseudo_label"):
                if m in acc:
                    gaps.append({"fine_pct": f, "coarse_pct": c, "seed": s, "method": m,
                                 "gap_closed": (acc[m] - acc["baseline"])
                                 / (acc["oracle"] - acc["baseline"])})
    gap_df = pd.DataFrame(gaps, columns=["fine_pct", "coarse_pct", "seed", "method", "gap_closed"])

    # Cost ratio: one training step of MinPoolNet vs a flat fine classifier, same backbone.
    cost = measure_cost(build_minpool, widths, training, args.cost_batch)

    name = "minpoolnet" + (f"_{args.tag}" if args.tag else "")
    main_df = df[~df.method.str.startswith("lambda")]
    table = harness.mean_std_table(main_df, ["fine_pct", "coarse_pct", "method"], ["fine_accuracy"])
    gap_table = (harness.mean_std_table(gap_df, ["fine_pct", "coarse_pct", "method"], ["gap_closed"])
                 if len(gap_df) else "(no gap: baseline or oracle missing, or oracle <= baseline)")
    lam_df = df[df.method.str.startswith("lambda")]
    lam_table = harness.mean_std_table(lam_df, ["method"], ["fine_accuracy"]) if len(lam_df) else "-"
    cost_table = harness.to_markdown(pd.DataFrame([cost]))
    notes = (
        f"Scale: Fashion-MNIST, {args.source} data, train pool = first "
        f"{len(x)} train images, test = {len(xt)} test images; small backbone widths "
        f"{widths}; {steps} SGD steps of batch {bs} per training (cosine, lr "
        f"{args.learning_rate}, Nesterov 0.9, wd 5e-4), no augmentation; {args.seeds} seeds "
        f"(mean +- std over seeds). S_coarse keeps the {args.coarse_labels} labels "
        f"({'medium + coarse' if args.coarse_labels == 'parent' else 'level 0 only'}); "
        f"eq. 7 reduction '{args.loss_reduction}'. Pseudo-labelling trains twice "
        f"(2 x {steps} steps). Columns in percent. CPU only; timings are not comparable "
        "across machines.\n\n"
        "## Fine accuracy (Tables I/II/IV analogue)\n\n" + table +
        "\n\n## Share of the baseline-to-oracle gap closed (percent)\n\n" + gap_table +
        f"\n\n## Lambda sweep (Fig. 5 analogue) at fine:coarse = {args.lambda_setting}\n\n"
        + lam_table +
        "\n\n## Cost ratio (median training step, batch "
        f"{args.cost_batch}, same backbone)\n\n" + cost_table + "\n"
    )
    if best is not None and args.export:
        import tempfile

        import export_zoo

        acc, model, (ff, cf), lam, seed = best
        fractions = {"fine": ff, "coarse": cf, "coarse_labels": args.coarse_labels,
                     "pool": len(x), "n_fine": int(round(ff * len(x))),
                     "n_coarse": int(round(cf * len(x)))}
        note = (f"trained on label fractions {fractions} of the first {len(x)} training images; "
                f"lambda {lam:g}, loss reduction '{args.loss_reduction}', seed {seed}, "
                f"{steps} steps of batch {bs}")
        with tempfile.TemporaryDirectory() as tmp:
            model.save_to_preset(tmp, label_fractions=fractions, coarse_loss_weight=lam,
                                 seed=seed, steps=steps, data_source=data["source"])
            export_zoo.main([tmp, args.export, "--command", command, "--note", note])
        notes += (f"\nExported the best MinPoolNet (fine:coarse {ff:.0%}:{cf:.0%}, lambda {lam:g}, "
                  f"seed {seed}, test fine accuracy {acc:.4f}) to `zoo/{args.export}`.\n")
    harness.write_results(name, df, "", command, notes,
                          tables={"_gap": gap_df})
    plot(df, gap_df, harness.result_path(f"{name}.png"))
    return df


def measure_cost(build_minpool, widths, training, batch):
    import numpy as np

    import hier_keras as hk

    tree = hk.Hierarchy.fashion_mnist()
    rng = np.random.default_rng(0)
    xb = rng.uniform(0, 255, (batch, 28, 28, 1)).astype("float32")
    yb = tree.complete(rng.integers(0, 10, batch))
    yb[: batch // 2, -1] = -1
    flat = hk.models.HierarchicalCNN.from_preset(
        "small_fashion_mnist", backbone_kwargs={"widths": widths}, head="single",
        training_config=training)
    fns = {}
    for key, model, labels in (("flat_ms", flat, tree.complete(yb[:, -1].clip(0))),
                               ("minpoolnet_ms", build_minpool(1.0), yb)):
        model.compile(total_steps=100)
        fns[key] = lambda m=model, lab=labels: m.train_on_batch(xb, lab)
    timing = harness.time_interleaved(fns, repeats=15, warmup=3)
    out = {k: 1000 * v for k, v in timing.seconds.items()}
    out["ratio"] = timing.ratios["minpoolnet_ms"]
    return {k: round(v, 3) for k, v in out.items()}


def plot_panels(df):
    """`(fixed column, its value, varied column)` for every sweep with two or more points."""
    panels = []
    for fixed, vary in (("coarse_pct", "fine_pct"), ("fine_pct", "coarse_pct")):
        for value, g in df.groupby(fixed):
            if g[vary].nunique() > 1:
                panels.append((fixed, value, vary))
    if not panels and len(df):  # a single setting: one panel with one point per method
        panels.append(("coarse_pct", df.coarse_pct.iloc[0], "fine_pct"))
    return panels


def plot(df, gap_df, path):
    """One panel per sweep of the label fractions in `df`, plus the lambda sweep if run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    main = df[~df.method.str.startswith("lambda")]
    lam = df[df.method.str.startswith("lambda")]
    panels = plot_panels(main)
    n = len(panels) + bool(len(lam))
    fig, axes = plt.subplots(1, max(n, 1), figsize=(5 * max(n, 1), 4), squeeze=False)
    axes = axes[0]
    for ax, (fixed, value, vary) in zip(axes, panels):
        sub = main[main[fixed] == value]
        for method, g in sub.groupby("method"):
            m = g.groupby(vary).fine_accuracy.agg(["mean", "std"]).reset_index()
            ax.errorbar(m[vary], 100 * m["mean"], yerr=100 * m["std"].fillna(0), marker="o",
                        capsize=3, label=method)
        ax.set_xlabel(f"{vary} (% of the train pool)")
        ax.set_ylabel("test fine accuracy (%)")
        ax.set_title(f"|S_{fixed.split('_')[0]}| = {value}%")
        ax.legend(fontsize=8)
    if len(lam):
        lam = lam.assign(lam=lam.method.str.split("=").str[1].astype(float))
        m = lam.groupby("lam").fine_accuracy.agg(["mean", "std"]).reset_index()
        ax = axes[len(panels)]
        ax.errorbar(m["lam"], 100 * m["mean"], yerr=100 * m["std"].fillna(0), marker="o",
                    capsize=3)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("lambda")
        ax.set_ylabel("test fine accuracy (%)")
        ax.set_title("lambda sweep")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
