"""MergedCNN (Dutt et al. 2017) on Fashion-MNIST: Fig. 3 analogue, ensembles, costs, adaptation
on other families' predictions, zoo export.

For each topology (separate, merge-0 .. merge-3; small CPU backbone) and seed, trains a model
(separate: one single-level model per level, each with its own seed, joined with
`MergedCNN.from_towers`), predicts a validation split (the last `--val-size` training images,
never trained on) and the test set, and sweeps the classifier-adaptation alpha over
0, 0.1, ..., 2 (Algorithm 1):

- Fig. 3 analogue: test top-1 error of every level against alpha, mean +- std over the
  instances (ensemble-1) or over the combinations of instances (ensemble-2, ensemble-4:
  probabilities averaged, then adapted), one line per topology (`mergedcnn_alpha.png`);
- summary: error without adaptation (alpha 0), at alpha 1, and at the alpha tuned per level
  on the validation split (the honest number), plus the best test alpha (Fig. 3 reading);
- cost as ratios in this one run: parameters and training-step time of each topology /
  separate (separate = the sum of its single-level models), and prediction time with
  adaptation / without;
- adaptation applied to other families' predictions (HierarchicalCNN heads trained here,
  the CNN-RNN zoo entry with greedy and constrained decoding);
- exports the best topology's best instance, with its validation-tuned alpha, to `zoo/`.

    nice -n 5 python benchmarks/mergedcnn.py --train-limit 15000 --epochs 2 --seeds 4

Writes benchmarks/results/mergedcnn<tag>{.csv,.md,_alpha.csv,_alpha.png,_cost.csv,
_baselines.csv}.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from adaptation_overhead import prediction_overhead  # noqa: E402

TOPOLOGIES = "separate,merge-0,merge-1,merge-2,merge-3"


def _predict(model, x):
    from hier_keras.outputs import public_outputs

    return public_outputs(model.predict(x, batch_size=512, verbose=0))


def _average(prob_list):
    import numpy as np

    return {k: np.mean([p[k] for p in prob_list], axis=0) for k in prob_list[0]}


def _build(args, topology, levels=None):
    from hier_keras.models.mergedcnn import MergedCNN

    kw = {"levels": levels} if levels else {}
    return MergedCNN.from_preset(args.preset, topology=topology,
                                 backbone_kwargs={"widths": args.widths}, **kw)


def train_topology(args, data, topology, seed):
    """Returns `(model, train_seconds)`; separate = one model per level, own seeds."""
    from hier_keras.models.mergedcnn import MergedCNN

    def trained(levels, seed):
        row, model = harness.train_and_evaluate(
            lambda: _build(args, topology, levels), data, seed=seed, epochs=args.epochs,
            batch_size=args.batch_size, steps_per_epoch=args.steps_per_epoch,
            verbose=args.verbose, evaluate=False)
        return model, row["train_seconds"]

    if topology != "separate":
        return trained(None, seed)
    towers = [trained([level], 1000 + 10 * seed + i)
              for i, level in enumerate(data["hierarchy"].level_names)]
    return MergedCNN.from_towers([t for t, _ in towers]), sum(s for _, s in towers)


def curve_rows(probs_val, probs_test, y_val, y_test, tree, alphas, key):
    """Test curve over alphas + the per-level alpha tuned on the validation split."""
    from hier_keras.training.adaptation import alpha_curve

    test = alpha_curve(probs_test, y_test, tree, alphas=alphas)
    val = alpha_curve(probs_val, y_val, tree, alphas=alphas)
    curve = test.curve.assign(**key)
    summary = dict(key)
    for name in tree.level_names:
        col = f"{name}_error"
        summary[f"{name}_err_a0"] = test.errors_at(0.0)[col]
        summary[f"{name}_err_a1"] = test.errors_at(1.0)[col]
        summary[f"{name}_err_tuned"] = test.errors_at(val.best[name])[col]
        summary[f"{name}_alpha_val"] = val.best[name]
        summary[f"{name}_alpha_test"] = test.best[name]
    summary["exact_match_err_a0"] = test.errors_at(0.0)["exact_match_error"]
    summary["exact_match_err_a1"] = test.errors_at(1.0)["exact_match_error"]
    summary["consistency_a0"] = test.errors_at(0.0)["consistency"]
    summary["consistency_a1"] = test.errors_at(1.0)["consistency"]
    summary["val_fine_err_tuned"] = val.errors_at(val.best[tree.level_names[-1]])[
        f"{tree.level_names[-1]}_error"]
    return curve, summary, val.best


def step_times(args, data, topologies):
    """Median training-step time per topology on one batch, every model timed side by side
    (separate: the sum of its towers' times)."""
    x = data["x_train"][: args.batch_size].astype("float32")
    y = data["y_train"][: args.batch_size]
    tree = data["hierarchy"]
    models = {}
    for topology in topologies:
        if topology == "separate":
            models.update({(topology, n): _build(args, "separate", [n]) for n in tree.level_names})
        else:
            models[topology, None] = _build(args, topology)
    for model in models.values():
        model.compile(total_steps=1000)
    med = harness.time_interleaved(
        {key: (lambda m=m: m.train_on_batch(x, y)) for key, m in models.items()},
        repeats=args.timing_repeats, warmup=2).seconds
    return {t: (sum(s for (k, _), s in med.items() if k == t),
                sum(m.count_params() for (k, _), m in models.items() if k == t))
            for t in topologies}


def plot(curves, tree, sizes, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = tree.level_names
    fig, axes = plt.subplots(len(levels), len(sizes), figsize=(4.2 * len(sizes), 3.0 * len(levels)),
                             squeeze=False, sharex=True)
    for c, size in enumerate(sizes):
        sub = curves[curves["ensemble"] == size]
        for topology, group in sub.groupby("topology", sort=False):
            stats = group.groupby("alpha")[[f"{n}_error" for n in levels]].agg(["mean", "std"])
            a = stats.index.to_numpy()
            for r, name in enumerate(levels):
                mean = 100 * stats[(f"{name}_error", "mean")].to_numpy()
                std = 100 * stats[(f"{name}_error", "std")].fillna(0).to_numpy()
                ax = axes[r][c]
                ax.plot(a, mean, label=topology)
                ax.fill_between(a, mean - std, mean + std, alpha=0.2)
                ax.set_title(f"ensemble-{size}: {name}")
                ax.set_ylabel("top-1 error (%)")
                ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("alpha")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    p = harness.base_parser(__doc__.split("\n")[0], epochs=2, seeds=4)
    p.add_argument("--preset", default="small_fashion_mnist")
    p.add_argument("--widths", default="16,32,64", help="small backbone stage widths")
    p.add_argument("--topologies", default=TOPOLOGIES)
    p.add_argument("--val-size", type=int, default=5000)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--ensembles", default="1,2,4")
    p.add_argument("--baselines", default="parallel,fine_to_coarse,cnnrnn_zoo")
    p.add_argument("--baseline-seeds", type=int, default=2)
    p.add_argument("--timing-repeats", type=int, default=7)
    p.add_argument("--export", default="mergedcnn_small_fashion_mnist",
                   help="zoo entry name for the best model ('' to skip)")
    args = p.parse_args(argv)
    args.widths = [int(w) for w in args.widths.split(",")]
    command = harness.command_line(__file__, argv)

    import numpy as np
    import pandas as pd

    import hier_keras as hk
    from hier_keras.models.mergedcnn import MergedCNN  # noqa: F401  (registers the class)
    from hier_keras.training.adaptation import DEFAULT_ALPHAS

    t_start = time.perf_counter()
    data = harness.load_data(args.source, None)
    tree = data["hierarchy"]
    n_total = len(data["x_train"])
    x_val = data["x_train"][n_total - args.val_size:].astype("float32")
    y_val = data["y_train"][n_total - args.val_size:]
    n_train = min(args.train_limit or n_total, n_total - args.val_size)
    x_train, y_train = data["x_train"][:n_train], data["y_train"][:n_train]
    if args.test_limit:
        data["x_test"], data["y_test"] = data["x_test"][: args.test_limit], data["y_test"][: args.test_limit]
    x_test, y_test = data["x_test"].astype("float32"), data["y_test"]
    train_data = dict(data, x_train=x_train, y_train=y_train)
    topologies = args.topologies.split(",")
    sizes = [int(s) for s in args.ensembles.split(",") if int(s) <= args.seeds]
    alphas = DEFAULT_ALPHAS

    # === Train every topology x seed; keep validation and test probabilities ===
    preds, models, train_rows = {}, {}, []
    for seed in range(args.seeds):
        for topology in topologies:
            model, seconds = train_topology(args, train_data, topology, seed)
            preds[topology, seed] = (_predict(model, x_val), _predict(model, x_test))
            models[topology, seed] = model
            train_rows.append({"topology": topology, "seed": seed, "train_seconds": seconds,
                               "parameters": model.count_params()})
            print(f"trained {topology} seed {seed} in {seconds:.0f}s", flush=True)

    # === Fig. 3 analogue: curves for ensembles of 1, 2, 4 instances ===
    curves, summaries, tuned = [], [], {}
    for topology in topologies:
        for size in sizes:
            for combo in itertools.combinations(range(args.seeds), size):
                pv = _average([preds[topology, s][0] for s in combo])
                pt = _average([preds[topology, s][1] for s in combo])
                key = {"topology": topology, "ensemble": size, "members": "+".join(map(str, combo))}
                curve, summary, best = curve_rows(pv, pt, y_val, y_test, tree, alphas, key)
                curves.append(curve)
                summaries.append(summary)
                if size == 1:
                    tuned[topology, combo[0]] = (best, summary["val_fine_err_tuned"])
    curves = pd.concat(curves, ignore_index=True)
    summary = pd.DataFrame(summaries)

    # === Adaptation on other families' predictions ===
    baseline_rows, baseline_curves = [], []
    for name in [b for b in args.baselines.split(",") if b]:
        if name == "cnnrnn_zoo":
            if "cnnrnn_small_fashion_mnist" not in hk.models.CNNRNN.preset_names():
                continue
            candidates = [(f"cnnrnn_zoo_{d}", 0, lambda d=d: hk.models.CNNRNN.from_preset(
                "cnnrnn_small_fashion_mnist", decoding=d)) for d in ("greedy", "constrained")]
        else:
            candidates = [(f"hierarchicalcnn_{name}", s, None) for s in range(args.baseline_seeds)]
        for label, seed, loader in candidates:
            if loader is not None:
                model = loader()
            else:
                _, model = harness.train_and_evaluate(
                    lambda: hk.models.HierarchicalCNN.from_preset(
                        args.preset, head=name, backbone_kwargs={"widths": args.widths}),
                    train_data, seed=seed, epochs=args.epochs, batch_size=args.batch_size,
                    steps_per_epoch=args.steps_per_epoch, verbose=args.verbose, evaluate=False)
            key = {"topology": label, "ensemble": 1, "members": str(seed)}
            curve, row, _ = curve_rows(_predict(model, x_val), _predict(model, x_test),
                                       y_val, y_test, tree, alphas, key)
            baseline_curves.append(curve)
            baseline_rows.append(row)
            print(f"baseline {label} seed {seed} done", flush=True)
    baselines = pd.DataFrame(baseline_rows)

    # === Cost ratios in this one run ===
    steps = step_times(args, data, topologies)
    mean_train = pd.DataFrame(train_rows).groupby("topology", sort=False)["train_seconds"].mean()
    ref_step, ref_params = steps.get("separate", next(iter(steps.values())))
    cost = pd.DataFrame([{
        "topology": t, "parameters": steps[t][1], "params_vs_separate": steps[t][1] / ref_params,
        "step_ms": 1000 * steps[t][0], "step_vs_separate": steps[t][0] / ref_step,
        "train_seconds_mean": mean_train.get(t, np.nan),
        "train_vs_separate": mean_train.get(t, np.nan) / mean_train.get("separate", np.nan),
    } for t in topologies])

    # === Best model: topology with the lowest mean validation fine error (alpha tuned on val) ===
    val_err = pd.DataFrame([{"topology": t, "seed": s, "val_fine_err": e}
                            for (t, s), (_, e) in tuned.items()])
    best_topology = val_err.groupby("topology")["val_fine_err"].mean().idxmin()
    best_seed = int(val_err[val_err.topology == best_topology].sort_values("val_fine_err").iloc[0].seed)
    best_alpha, _ = tuned[best_topology, best_seed]
    best_model = models[best_topology, best_seed]
    best_model.set_adaptation_alpha([best_alpha[n] for n in tree.level_names])
    on, off = prediction_overhead(best_model, x_test, [best_alpha[n] for n in tree.level_names],
                                  args.timing_repeats)

    # === Write results ===
    tag = args.tag
    all_curves = pd.concat([curves] + baseline_curves, ignore_index=True)
    plot(curves, tree, sizes, harness.result_path(f"mergedcnn{tag}_alpha.png"),
         f"MergedCNN, small backbone {args.widths}, Fashion-MNIST ({n_train} train, "
         f"{args.epochs} epochs): test error vs alpha, mean +- std")

    levels = tree.level_names
    cols_a0 = [f"{n}_err_a0" for n in levels] + ["exact_match_err_a0"]
    cols_tuned = [f"{n}_err_tuned" for n in levels]
    cols_a1 = [f"{n}_err_a1" for n in levels] + ["exact_match_err_a1"]
    table = harness.mean_std_table(summary, ["topology", "ensemble"], cols_a0 + cols_a1 + cols_tuned)
    alpha_cols = [f"{n}_alpha_val" for n in levels] + [f"{n}_alpha_test" for n in levels]
    alpha_table = harness.to_markdown(summary[summary.ensemble == 1].groupby("topology", sort=False)[alpha_cols]
                              .agg(lambda v: f"{v.mean():.2f} +- {v.std(ddof=1) if len(v) > 1 else 0:.2f}")
                              .reset_index())
    gain = summary.assign(**{f"{n}_gain": 100 * (summary[f"{n}_err_a0"] - summary[f"{n}_err_tuned"])
                             for n in levels})
    gain_table = harness.to_markdown(gain.groupby(["topology", "ensemble"], sort=False)[
        [f"{n}_gain" for n in levels]].mean().round(2).reset_index())
    cost_table = harness.to_markdown(cost.round(3))
    base_table = harness.mean_std_table(baselines, ["topology"], cols_a0 + cols_tuned + ["consistency_a0", "consistency_a1"]) \
        if len(baselines) else "(none)"
    minutes = (time.perf_counter() - t_start) / 60
    notes = f"""Dutt et al. 2017 (Fig. 3 analogue) at a **reduced CPU scale**: Fashion-MNIST
({data['source']}), the 3-level tree (coarse 2 / medium 6 / fine 10; one tower or head per
level), small backbone with stage widths {args.widths}, {n_train} training images (the first
{n_train} of the training split), {args.epochs} epochs, batch {args.batch_size}, preset
schedule (SGD, cosine); validation = the last {args.val_size} training images (never trained
on); test = {len(x_test)} test images; {args.seeds} instances per topology (seeds 0..{args.seeds - 1};
separate = three single-level models with their own seeds). Ensemble-n averages the
probabilities of n instances over every combination of n of the {args.seeds} instances
(ensemble-{max(sizes)}: {len(list(itertools.combinations(range(args.seeds), max(sizes))))} combination(s));
std is over instances/combinations (combinations share members, so they are not independent).
Errors in %; `a0` = no adaptation, `a1` = alpha 1, `tuned` = alpha tuned per level on the
validation split (each level's output uses its own alpha), the honest test figure. Adaptation on
the 3-level tree: Algorithm 1 on (coarse, medium) then (medium, fine). Wall time of this run:
{minutes:.1f} min on a 2-core CPU shared with other jobs (absolute times are noisy; ratios are
from this one run)."""
    best_note = (f"Best topology by mean validation fine error (alpha tuned on val): **{best_topology}**; "
                 f"exported instance: seed {best_seed}, alpha per level "
                 f"{[best_alpha[n] for n in levels]}.")
    overhead = (f"Prediction time of the exported model on {len(x_test)} test images, median of "
                f"{args.timing_repeats} interleaved runs of two copies (see "
                f"adaptation_overhead.py): with adaptation {on:.3f} s, without {off:.3f} s, ratio "
                f"**{on / off:.3f}** (adaptation overhead {100 * (on / off - 1):+.1f}%).")
    sections = "\n\n".join([
        "## Test error (%) without adaptation, at alpha 1, and at the validation-tuned alpha",
        table,
        "## Gain from adaptation (percentage points, alpha 0 -> validation-tuned alpha), mean",
        gain_table,
        "## Tuned alphas (ensemble-1): on validation (used) and best on test (Fig. 3 reading)",
        alpha_table, best_note,
        "## Cost ratios (this run): parameters and training-step time vs separate",
        "Step time: median of one `train_on_batch` on a batch of "
        f"{args.batch_size}, every model timed side by side (separate = sum of its three "
        "single-level models); train seconds: mean wall time of the whole training per "
        "instance.", cost_table, overhead,
        "## Adaptation on other families' predictions",
        "HierarchicalCNN heads (Guo et al. strategies; `parallel` is the same network as merge-3) "
        f"trained here ({args.baseline_seeds} seeds, same data and budget); the zoo CNN-RNN "
        "(`cnnrnn_small_fashion_mnist`, its own training command) with greedy and constrained "
        "decoding. With constrained decoding every non-chosen group has Q = 0 exactly (the "
        "Q = 0 branch of Algorithm 1).", base_table,
        f"Figure: `mergedcnn{tag}_alpha.png`; curves: `mergedcnn{tag}_alpha.csv`.",
    ])
    harness.write_results(f"mergedcnn{tag}", summary, sections, command, notes,
                          tables={"_alpha": all_curves, "_cost": cost, "_baselines": baselines})

    # === Zoo export ===
    if args.export:
        import export_zoo

        with tempfile.TemporaryDirectory() as tmp:
            best_model.save_to_preset(tmp, epochs=args.epochs, seed=best_seed,
                                      data_source=data["source"])
            export_zoo.main([tmp, args.export, "--command", command +
                             f"  ({best_topology} seed {best_seed}, alpha tuned on the validation split)",
                             "--note", f"MergedCNN {best_topology}, small backbone {args.widths}, "
                             f"{n_train} train images, {args.epochs} epochs; classifier adaptation "
                             f"alpha per level {[best_alpha[n] for n in levels]} tuned on "
                             f"{args.val_size} held-out training images."])


if __name__ == "__main__":
    main()
