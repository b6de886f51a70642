"""Coarse-label pretraining then fine-tuning on a few fine labels, against weak supervision.

The setting of a user with a large coarse-labelled set and a few fine labels
(Fashion-MNIST, 3-level tree coarse 2 / medium 6 / fine 10). Per seed:

1. **Pretraining** (once per seed): a flat classifier of the *medium* level
   (`HierarchicalCNN`, `head="single"`, `level="medium"`) on every training
   image with its medium label only ("coarse labels" = everything above the
   fine level, which is what a coarse-labelled set gives), `--pretrain-steps`
   steps; its backbone is written with `hk.backbones.save_weights_by_name`.
2. For |S_fine| = 10% / 20% of the training set (stratified per fine class,
   `minpoolnet.weak_split`; the rest, S_coarse, keeps its medium and coarse
   labels), at the same number of fine-tuning steps (`--steps`, batch
   `--batch-size`, same small backbone, SGD + cosine, no augmentation):

   - `fine_only`: CNN-RNN from scratch on S_fine;
   - `transfer`: CNN-RNN on the pretrained backbone (`backbone_weights=`),
     `hk.training.fine_tune` on S_fine: heads on the frozen backbone for the
     first fifth of the steps, then everything at `--backbone-lr-scale` x the rate
     (`fine_tune`'s default 0.1); `transfer_full_lr` the same at the full rate;
   - `minpoolnet`: MinPoolNet (lambda 1) on S_fine + S_coarse;
   - `pseudo_label`: CNN-RNN `pseudo_label_fit` (S_fine, then S_fine + the
     pseudo-labelled S_coarse; two trainings of about `--steps` each);
   - `oracle`: CNN-RNN from scratch on every image with its fine label (shared
     by the splits of a seed);
   - `fine_only_matched`, `oracle_matched`: the same two for `--steps` +
     `--pretrain-steps` steps, the compute `transfer` gets with its pretraining
     (does pretraining help beyond training longer?).

Scores: fine accuracy and exact match on the full test set at the final step;
`gap_closed = (method - fine_only) / (oracle - fine_only)` per seed. Runs are
appended to `results/transfer<tag>.partial.csv` as they finish; a restart with
the same flags skips the runs already there (pretrained backbones are kept in
`--cache-dir`).

    python benchmarks/transfer.py --steps 800 --pretrain-steps 1600 --seeds 3
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import minpoolnet  # noqa: E402

SCORES = ["fine_accuracy", "exact_match"]
METHODS = ["fine_only", "transfer", "transfer_full_lr", "minpoolnet", "pseudo_label", "oracle",
           "fine_only_matched", "oracle_matched"]
PER_SEED = ["oracle", "oracle_matched"]  # trained once per seed, shown under every split


def parse_args(argv):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=1, seeds=3)
    p.add_argument("--steps", type=int, default=800, help="fine-tuning steps of every method")
    p.add_argument("--pretrain-steps", type=int, default=1600)
    p.add_argument("--fine-fractions", default="0.1,0.2")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--widths", default="16,32,64", help="widths of the small backbone")
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--backbone-lr-scale", type=float, default=0.1)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--cache-dir", default=os.path.join("/tmp", "hk_transfer_cache"))
    p.add_argument("--fresh", action="store_true", help="ignore the partial CSV of a run")
    p.set_defaults(batch_size=64)
    return p.parse_args(argv)


class Runs:
    """The runs done so far: a CSV appended row by row, read back on restart."""

    def __init__(self, path, config, fresh):
        import pandas as pd

        self.path, self.config = path, json.dumps(config, sort_keys=True)
        self.rows = []
        if path.exists() and not fresh:
            old = pd.read_csv(path)
            self.rows = [r for r in old.to_dict("records") if r.get("config") == self.config]
        self.write()

    def find(self, **key):
        import pandas as pd

        def same(a, b):  # a missing value reads back from the CSV as NaN
            return a == b or bool(pd.isna(a) and pd.isna(b))

        return next((r for r in self.rows if all(same(r.get(k), v) for k, v in key.items())),
                    None)

    def add(self, row):
        self.rows.append({**row, "config": self.config})
        self.write()
        print({k: v for k, v in row.items() if k != "config"}, flush=True)

    def write(self):
        import pandas as pd

        pd.DataFrame(self.rows).to_csv(self.path, index=False)


def main(argv=None):
    args = parse_args(argv)

    import keras
    import numpy as np

    import hier_keras as hk
    from hier_keras.training import fine_tune, pseudo_label_fit

    command = harness.command_line(__file__, argv)
    data = harness.load_data(args.source, args.train_limit)
    x, y = data["x_train"], data["y_train"]
    n_test = args.test_limit or len(data["y_test"])  # the full test set unless limited
    test = (data["x_test"][:n_test].astype("float32"), data["y_test"][:n_test])
    tree = hk.Hierarchy.fashion_mnist()
    widths = [int(w) for w in args.widths.split(",")]
    steps, bs = args.steps, args.batch_size
    training = {"optimizer": "sgd", "learning_rate": args.learning_rate, "momentum": 0.9,
                "nesterov": True, "weight_decay": 5e-4, "schedule": {"type": "cosine"},
                "batch_size": bs, "augment": False}
    family_kwargs = {"backbone_kwargs": {"widths": widths}, "training_config": training}
    fractions = [float(f) for f in args.fine_fractions.split(",")]
    methods = args.methods.split(",")
    name = "transfer" + args.tag
    config = {k: getattr(args, k) for k in ("steps", "pretrain_steps", "batch_size", "widths",
                                            "learning_rate", "backbone_lr_scale", "source",
                                            "train_limit", "test_limit")}
    runs = Runs(harness.result_path(f"{name}.partial.csv"), config, args.fresh)
    os.makedirs(args.cache_dir, exist_ok=True)

    def cnnrnn(**kwargs):
        return lambda: hk.models.CNNRNN.from_preset("small_fashion_mnist", **family_kwargs,
                                                    **kwargs)

    def scores(row):
        return {k: row[k] for k in SCORES}

    def pretrained(seed):
        """The medium-level backbone of `seed` (trained once, then read from the cache)."""
        path = os.path.join(args.cache_dir, f"{name}_seed{seed}_" + "_".join(
            str(config[k]) for k in ("pretrain_steps", "source", "train_limit")) + ".h5")
        if os.path.exists(path) and runs.find(method="pretrain", seed=seed):
            return path
        medium = y.copy()
        medium[:, -1] = -1  # the fine label is what the coarse-labelled set lacks
        row, model = minpoolnet.train_steps(
            lambda: hk.models.HierarchicalCNN.from_preset(
                "small_fashion_mnist", head="single", level="medium", **family_kwargs),
            x, medium, np.zeros(len(y), bool), tree, args.pretrain_steps, bs, seed, test)
        hk.backbones.save_weights_by_name(model.backbone, path)
        runs.add({"fine_pct": None, "seed": seed, "method": "pretrain",
                  "steps": args.pretrain_steps, "train_seconds": row["train_seconds"],
                  "medium_accuracy": row["medium_accuracy"]})
        return path

    def transfer(seed, images, labels, lr_scale):
        keras.utils.set_random_seed(seed)
        model = cnnrnn(backbone_weights=pretrained(seed))()
        ds = minpoolnet.weak_batches(images, labels, np.ones(len(labels), bool), tree, bs, seed)
        t0 = time.perf_counter()
        fine_tune(model, ds, head_epochs=1, epochs=5, steps_per_epoch=max(1, steps // 5),
                  backbone_lr_scale=lr_scale, verbose=args.verbose)
        row = harness.evaluate_row(model, test)
        return {"train_seconds": round(time.perf_counter() - t0, 1), **scores(row),
                "steps": 5 * max(1, steps // 5)}

    def pseudo(seed, labels, is_fine):
        n_fine, n_all = int(is_fine.sum()), len(labels)
        first, second = (max(1, round(steps * bs / n)) for n in (n_fine, n_all))
        keras.utils.set_random_seed(seed)
        t0 = time.perf_counter()
        out = pseudo_label_fit(cnnrnn(), x[is_fine], y[is_fine], x[~is_fine], labels[~is_fine],
                               epochs=first, retrain_epochs=second, batch_size=bs,
                               augment=False, seed=seed, y_coarse_true=y[~is_fine])
        seconds = round(time.perf_counter() - t0, 1)
        per_pass = [-(-n // bs) for n in (n_fine, n_all)]
        return {"train_seconds": seconds, **scores(harness.evaluate_row(out["model"], test)),
                "steps": first * per_pass[0] + second * per_pass[1],
                "pseudo_label_accuracy": out["pseudo_label_accuracy"]}

    def scratch(build, images, labels, is_fine, seed, n_steps=steps):
        row, _ = minpoolnet.train_steps(build, images, labels, is_fine, tree, n_steps, bs, seed,
                                        test, args.verbose)
        return {"train_seconds": row["train_seconds"], **scores(row), "steps": n_steps}

    def build_minpool():
        return hk.models.MinPoolNet.from_preset("small_fashion_mnist", coarse_loss_weight=1.0,
                                                loss_reduction="labelled", **family_kwargs)

    for seed in range(args.seeds):
        for frac in fractions:
            labels, is_fine, _ = minpoolnet.weak_split(y, tree, frac, 1 - frac, seed)
            base = {"fine_pct": round(100 * frac), "seed": seed, "n_fine": int(is_fine.sum())}
            for method in methods:
                key = dict(base, fine_pct=None, n_fine=len(y)) if method in PER_SEED else base
                if runs.find(method=method, seed=seed, fine_pct=key["fine_pct"]) is not None:
                    continue
                if method.split("_matched")[0] in ("fine_only", "oracle"):
                    which = "oracle" if method in PER_SEED else "baseline"
                    n_steps = steps + args.pretrain_steps if "_matched" in method else steps
                    out = scratch(cnnrnn(), *minpoolnet.method_data(which, x, y, labels,
                                                                    is_fine), seed, n_steps)
                elif method == "minpoolnet":
                    out = scratch(build_minpool, x, labels, is_fine, seed)
                elif method in ("transfer", "transfer_full_lr"):
                    scale = args.backbone_lr_scale if method == "transfer" else 1.0
                    out = transfer(seed, x[is_fine], y[is_fine], scale)
                elif method == "pseudo_label":
                    out = pseudo(seed, labels, is_fine)
                else:
                    raise ValueError(f"Unknown method {method!r}.")
                runs.add({**key, "method": method, **out})

    df = summarise(runs.rows, fractions, seeds=args.seeds)
    notes = report_notes(args, df, len(x), n_test, widths, data["source"])
    table = harness.mean_std_table(df[df.method != "pretrain"], ["fine_pct", "method"], SCORES)
    harness.write_results(name, df, table, command, notes)
    plot(df, harness.result_path(f"{name}.png"))
    return df


def summarise(rows, fractions, seeds):
    """The runs as one table: the oracle (trained once per seed) copied into every split, and
    `gap_closed` per seed and split."""
    import pandas as pd

    df = pd.DataFrame(rows).drop(columns=["config"], errors="ignore")
    df = df[df.seed < seeds]
    oracle = df[df.method.isin(PER_SEED)]
    split = df[~df.method.isin([*PER_SEED, "pretrain"])]
    copies = [oracle.assign(fine_pct=round(100 * f)) for f in fractions]
    df = pd.concat([df[df.method == "pretrain"], split, *copies], ignore_index=True)
    gaps = []
    for _, r in df.iterrows():
        g = df[(df.seed == r.seed) & (df.fine_pct == r.fine_pct)]
        acc = dict(zip(g.method, g.fine_accuracy))
        lo, hi = acc.get("fine_only"), acc.get("oracle")
        ok = r.method != "pretrain" and lo is not None and hi is not None and hi != lo
        gaps.append((r.fine_accuracy - lo) / (hi - lo) if ok else float("nan"))
    df["gap_closed"] = gaps
    df["fine_pct"] = df.fine_pct.astype("Int64")
    order = {m: i for i, m in enumerate(["pretrain", *METHODS])}
    df = df.assign(_o=df.method.map(order)).sort_values(["fine_pct", "_o", "seed"],
                                                         na_position="first")
    return df.drop(columns="_o").reset_index(drop=True)


def report_notes(args, df, n_train, n_test, widths, source):
    pre = df[df.method == "pretrain"]
    gap = harness.mean_std_table(df[~df.method.isin(["pretrain", "fine_only", *PER_SEED])],
                                 ["fine_pct", "method"], ["gap_closed"])
    medium = (f"{100 * pre.medium_accuracy.mean():.2f} +- {100 * pre.medium_accuracy.std():.2f}"
              if len(pre) > 1 else "-")
    mean = df.groupby(["fine_pct", "method"]).fine_accuracy.mean()
    widths_of_gap = ", ".join(
        f"{pct}%: {100 * (mean[pct, 'oracle'] - mean[pct, 'fine_only']):.2f}"
        for pct in sorted(df.fine_pct.dropna().unique())
        if (pct, "oracle") in mean.index and (pct, "fine_only") in mean.index)
    return (
        f"Fashion-MNIST ({source}), training set = {n_train} images, test = {n_test} images "
        f"(final step, tree-constrained decoding); small backbone widths {widths}; SGD "
        f"(lr {args.learning_rate}, Nesterov 0.9, wd 5e-4, cosine), batch {args.batch_size}, no "
        f"augmentation; {args.seeds} seeds (mean +- std over seeds), columns in percent.\n\n"
        f"Pretraining (once per seed): `HierarchicalCNN(head='single', level='medium')` on all "
        f"{n_train} training images with their *medium* label only (the 6 classes above the "
        f"fine level: what a coarse-labelled set gives), {args.pretrain_steps} steps; test "
        f"medium accuracy {medium}. Fine-tuning: every method gets {args.steps} steps "
        f"(column `steps`: `transfer` = {args.steps // 5} head steps on the frozen backbone + "
        f"{4 * (args.steps // 5)} steps of everything at {args.backbone_lr_scale} x the rate, "
        "`transfer_full_lr` the same at the full rate (both shown; neither chosen); "
        "`pseudo_label` trains twice, whole epochs of about that many steps each). The "
        "pretraining steps are extra compute that only `transfer` gets; `fine_only_matched` and "
        f"`oracle_matched` train {args.steps + args.pretrain_steps} steps (= fine-tuning + "
        "pretraining), the compute-matched controls. `oracle` / `oracle_matched` (every image "
        "with its fine label) are trained once per seed and shown under both splits. No "
        "hyperparameter was chosen on the test set (none was tuned).\n\n"
        "Share of the fine-only-to-oracle gap closed, `(method - fine_only) / (oracle - "
        f"fine_only)` of fine accuracy per seed (percent). The gap itself (oracle - fine_only, "
        f"points of fine accuracy) is {widths_of_gap or '-'}: where it is small the share is "
        f"ill-conditioned (values far outside 0-100%).\n\n{gap}"
    )


def plot(df, path):
    """Test fine accuracy per method (bars) and split (groups), std over seeds as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    runs = df[df.method != "pretrain"]
    splits = sorted(runs.fine_pct.dropna().unique())
    methods = [m for m in METHODS if m in set(runs.method)]
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, method in enumerate(methods):
        stats = runs[runs.method == method].groupby("fine_pct").fine_accuracy.agg(["mean", "std"])
        stats = stats.reindex(splits)
        pos = np.arange(len(splits)) + (i - (len(methods) - 1) / 2) * width
        ax.bar(pos, 100 * stats["mean"], width, yerr=100 * stats["std"].fillna(0), capsize=3,
               label=method)
    ax.set_xticks(np.arange(len(splits)), [f"|S_fine| = {s:g}%" for s in splits])
    ax.set_ylabel("test fine accuracy (%), mean +- std over seeds")
    lo = 100 * runs.fine_accuracy.min()
    ax.set_ylim(max(0, lo - 3), min(100, 100 * runs.fine_accuracy.max() + 2))
    ax.set_title("Coarse pretraining + fine-tuning vs weak supervision (Fashion-MNIST)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
