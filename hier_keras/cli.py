"""`hier-keras` command line: demo, train, tune, evaluate, predict, export, presets.

Examples:

    hier-keras demo                                  # the main job, < 5 min on a laptop CPU
    hier-keras presets
    hier-keras train --family HierarchicalCNN --preset small_fashion_mnist \
        --epochs 5 --output runs/small
    hier-keras train --family CNNRNN --strategy mirrored --mixed-precision --jit  # GPUs
    hier-keras train --family MinPoolNet --preset nin_fashion_mnist \
        --fine-fraction 0.1 --coarse-fraction 0.5   # 10% fine labels, 50% coarse-only
    hier-keras tune --family CNNRNN --trials 10 --epochs 2 --output runs/tune
    hier-keras evaluate runs/small/preset
    hier-keras predict runs/small/preset image1.png image2.png
    hier-keras export runs/small/preset serving/small

`train` is resumable: it keeps a checkpoint per epoch in `<output>/checkpoint`, so a
killed run started again with the same arguments goes on from its last finished epoch
(`<output>/history.json` lists the epochs each run trained).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEMO_FAMILY = "CNNRNN"
DEMO_PRESET = "small_fashion_mnist"
# The demo's budget: about this many training images seen (2 epochs of the full set,
# 12 of the bundled subset), which fits in 5 minutes on a 2-core CPU.
DEMO_IMAGES = 120_000


def _get_family(name):
    """The family class of `--family`; an unknown name exits with the registry's one-line
    message (it names the closest family)."""
    from hier_keras.models import get_family

    try:
        return get_family(name)
    except ValueError as err:
        raise SystemExit(str(err)) from None


def _load(preset, family=None):
    """The model of a preset argument: with `--family`, `Family.from_preset` (built-in
    name, zoo entry or directory); without, a directory or zoo entry of any family
    (`hier_keras.presets.load_preset`). A preset that does not load exits with one line."""
    from hier_keras import presets

    if family:
        cls = _get_family(family)
        try:
            return cls.from_preset(preset)
        except ValueError as err:  # not a preset of that family, or a corrupted directory
            raise SystemExit(str(err)) from None
    try:
        _, directory = presets.resolve_preset(None, preset)
    except ValueError:
        raise SystemExit(f"{preset!r} is neither a preset directory nor a zoo entry; "
                         "pass --family to build a built-in preset.") from None
    try:
        return presets.load_preset(directory)
    except ValueError as err:
        raise SystemExit(str(err)) from None


def train(args) -> dict:
    """Train a preset on a dataset, evaluate it, save it as a preset directory."""
    import keras

    import hier_keras as hk
    from hier_keras.metrics import evaluate_model
    from hier_keras.optimizers import TrainingConfig
    from hier_keras.training import fine_tune, fit_model, plateau_callback
    from hier_keras.training.fine_tune import joined_history
    from hier_keras.training.distribute import (distribute_dataset, is_chief, precision_policy,
                                                local_copy, prepare_model, strategy_from_name,
                                                task_id)

    family = _get_family(args.family)
    _check_label_args(args)
    strategy_name = getattr(args, "strategy", "default")
    try:
        strategy = strategy_from_name(strategy_name)
    except ValueError as err:
        raise SystemExit(str(err)) from err
    chief = is_chief()
    keras.utils.set_random_seed(args.seed)
    with precision_policy(getattr(args, "mixed_precision", False)), strategy.scope():
        overrides = json.loads(args.overrides or "{}")
        if getattr(args, "backbone", None):
            overrides["backbone"] = args.backbone
        if getattr(args, "backbone_weights", None):
            overrides["backbone_weights"] = args.backbone_weights
        try:
            model = family.from_preset(args.preset, **overrides)
        except (ValueError, ImportError) as err:
            raise SystemExit(str(err)) from None
        model = prepare_model(model, strategy)
        cfg = TrainingConfig.from_dict(model.training_config)
        batch_size = args.batch_size or cfg.batch_size
        plateau = bool(cfg.reduce_lr_on_plateau)
        val_size = getattr(args, "val_size", None)
        if val_size is None:
            val_size = 0.1 if plateau else 0.0
        if plateau and not val_size:
            raise SystemExit(f"Preset {args.preset!r} lowers its learning rate on a validation "
                             "plateau; --val-size 0 would let the test split steer training. "
                             "Give --val-size > 0 (default 0.1).")
        train_ds, test_ds, info = hk.data.load(
            args.dataset, batch_size=batch_size, augment=cfg.augment,
            preprocessing=model.preprocessing, hierarchy=model.hierarchy, source=args.source,
            data_dir=args.data_dir, seed=args.seed, return_info=True,
        )
        callbacks, val_ds, fractions = [], test_ds, None
        if getattr(args, "fine_fraction", None) is not None or val_size:
            train_ds, val_ds, fractions, n_train = _train_split(
                args, model, batch_size, cfg.augment, val_size)
            info = dict(info, train_size=n_train)
            val_ds = test_ds if val_ds is None else val_ds
        if plateau:
            callbacks.append(plateau_callback(model))
        if strategy_name == "multiworker":
            separate_val = val_ds is not test_ds
            train_ds, test_ds = distribute_dataset(train_ds), distribute_dataset(test_ds)
            val_ds = distribute_dataset(val_ds) if separate_val else test_ds
        print(f"Data: {args.dataset} from {info['source']} "
              f"({info['train_size']} train / {info['test_size']} test images)")
        if fractions:
            print(f"Partial labels: {fractions['n_fine']} fine-labelled + {fractions['n_coarse']} "
                  "coarse-only training images in ratio-keeping batches")
        if val_size:
            print(f"Validation: {int(round(val_size * 100)) if val_size < 1 else int(val_size)}"
                  f"{'%' if val_size < 1 else ''} of the training split held out"
                  + (" (watched by the learning-rate plateau schedule)" if plateau else ""))
        if strategy_name != "default":
            print(f"Strategy: {strategy_name}, {strategy.num_replicas_in_sync} replicas "
                  f"(global batch {batch_size})")
        epochs = args.epochs or cfg.epochs or 10
        if getattr(args, "budget_images", None) and not args.epochs:
            epochs = max(2, round(args.budget_images / info["train_size"]))
        # Each worker keeps its own checkpoint; the chief's is the one a restart reads back.
        checkpoint = os.path.join(args.output, "checkpoint" if chief else f"checkpoint_{task_id()}")
        compile_kwargs = {"jit_compile": True} if getattr(args, "jit", False) else None
        freeze = getattr(args, "freeze_epochs", None)
        if freeze:
            if freeze >= epochs:
                raise SystemExit(f"--freeze-epochs {freeze} leaves no epoch of the {epochs} to "
                                 "train the unfrozen backbone; give fewer.")
            phases = fine_tune(model, train_ds, val_ds, head_epochs=freeze, epochs=epochs,
                               backbone_lr_scale=args.backbone_lr_scale,
                               checkpoint_dir=checkpoint, steps_per_epoch=args.steps_per_epoch,
                               verbose=args.verbose, callbacks=callbacks,
                               compile_kwargs=compile_kwargs)
            history = joined_history([h for _, h in phases])
        else:
            history = fit_model(model, train_ds, epochs=epochs, validation_data=val_ds,
                                checkpoint_dir=checkpoint, steps_per_epoch=args.steps_per_epoch,
                                verbose=args.verbose, callbacks=callbacks,
                                compile_kwargs=compile_kwargs)
    with precision_policy(getattr(args, "mixed_precision", False)):
        if strategy_name != "default":
            trained, model = model, local_copy(model)  # evaluate and save on one device
        results = evaluate_model(model, test_ds)
    preset_dir = os.path.join(args.output, "preset")
    if not chief:
        print(f"Worker {task_id()} done; the chief writes the outputs.")
        return {"model": model, "results": results, "test_ds": test_ds, "preset_dir": None}
    command = "hier-keras " + " ".join(sys.argv[1:]) if sys.argv else ""
    model.save_to_preset(preset_dir, metrics=results, overwrite=True, dataset=args.dataset,
                         data_source=info["source"], split="test", command=command,
                         epochs=epochs, seed=args.seed, strategy=strategy_name,
                         replicas=int(strategy.num_replicas_in_sync),
                         mixed_precision=bool(getattr(args, "mixed_precision", False)),
                         jit_compile=bool(getattr(args, "jit", False)),
                         **({"label_fractions": fractions} if fractions else {}))
    optimizer = (trained if strategy_name != "default" else model).optimizer
    run_log = {"epochs": epochs, "epochs_this_run": [int(e) for e in history.epoch],
               "optimizer_iterations": int(keras.ops.convert_to_numpy(optimizer.iterations)),
               "history": {k: [float(v) for v in vals] for k, vals in history.history.items()}}
    with open(os.path.join(args.output, "history.json"), "w") as f:
        json.dump(run_log, f, indent=1)
    print(_format_results(results))
    print(f"Saved preset to {preset_dir}")
    return {"model": model, "results": results, "test_ds": test_ds, "preset_dir": preset_dir,
            "history": history}


def _check_label_args(args):
    """Reject bad --fine-fraction / --coarse-fraction / --val-size before any data is loaded."""
    from hier_keras.data.partial import check_fractions

    fine, coarse = getattr(args, "fine_fraction", None), getattr(args, "coarse_fraction", None)
    if coarse is not None and fine is None:
        raise SystemExit("--coarse-fraction needs --fine-fraction (the share that keeps its "
                         "fine label).")
    if fine is not None:
        try:
            check_fractions(fine, coarse)
        except ValueError as err:
            raise SystemExit(f"--fine-fraction / --coarse-fraction: {err}") from err
        if fine == 0:
            raise SystemExit("--fine-fraction 0 leaves no fine-labelled image; raise it above 0.")
    val_size = getattr(args, "val_size", None)
    if val_size is not None and not val_size >= 0:
        raise SystemExit(f"--val-size must be a share in [0, 1) or a number of images; "
                         f"received {val_size}.")


def _train_split(args, model, batch_size, augment, val_size):
    """Training pipeline with a held-out validation share and/or partial labels.

    `--fine-fraction F [--coarse-fraction C]` keeps the full label path for a
    stratified share F of every class (S_fine) and hides the finest label
    (-1) of the next share C (S_coarse; default: the rest), which keeps its
    coarser labels, as in the min-pooling paper and Guo et al. Sec. 4.2;
    batches keep the S_fine : S_coarse ratio (`hk.data.ratio_batches`).

    Returns:
        `(train_ds, val_ds or None, label fractions or None, number of training images)`.
    """
    import numpy as np

    import hier_keras as hk
    from hier_keras.data.partial import check_fractions

    data = hk.data.load_arrays(args.dataset, data_dir=args.data_dir, hierarchy=model.hierarchy,
                               source=args.source)
    x, y = data["x_train"], data["y_train"]
    val_ds = None
    if val_size:
        order = np.random.default_rng(args.seed).permutation(len(x))
        n_val = int(val_size if val_size >= 1 else round(val_size * len(x)))
        if not 0 < n_val < len(x):
            raise SystemExit(f"--val-size {val_size} leaves no training or no validation "
                             f"images out of {len(x)}.")
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        val_ds = hk.data.from_arrays(x[val_idx], y[val_idx], model.hierarchy,
                                     batch_size=batch_size, preprocessing=model.preprocessing)
        x, y = x[train_idx], y[train_idx]
    if getattr(args, "fine_fraction", None) is None:
        train_ds = hk.data.from_arrays(x, y, model.hierarchy, batch_size=batch_size, shuffle=True,
                                       augment=augment, seed=args.seed,
                                       preprocessing=model.preprocessing)
        return train_ds, val_ds, None, len(x)
    # The fractions were checked by _check_label_args before any data was loaded.
    fine, coarse = check_fractions(args.fine_fraction, args.coarse_fraction)
    _, is_fine, keep = hk.data.partial_labels(y, model.hierarchy, fine, args.coarse_fraction,
                                              seed=args.seed)
    labels = y.copy()
    labels[~is_fine, -1] = -1
    x, labels, is_fine = x[keep], labels[keep], is_fine[keep]
    if not is_fine.any():
        raise SystemExit(f"--fine-fraction {args.fine_fraction} rounds to no fine-labelled "
                         "image in any class; raise it.")
    train_ds = hk.data.ratio_batches(x, labels, is_fine, batch_size=batch_size, seed=args.seed,
                                     repeat=False, augment=augment,
                                     preprocessing=model.preprocessing)
    fractions = {"fine": fine, "coarse": coarse,
                 "n_fine": int(is_fine.sum()), "n_coarse": int((~is_fine).sum()),
                 "coarse_labels": "parent"}
    return train_ds, val_ds, fractions, len(x)


def tune(args) -> dict:
    """Search a family's hyperparameters with keras-tuner, then tune classifier adaptation."""
    import numpy as np

    import hier_keras as hk
    from hier_keras import tuning
    from hier_keras.metrics import evaluate_model

    try:  # an unknown or untunable family is refused before any data is loaded
        tuning.search_space_module(args.family)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    data = hk.data.load_arrays(args.dataset, data_dir=args.data_dir, source=args.source)
    x, y = data["x_train"], data["y_train"]
    order = np.random.default_rng(args.seed).permutation(len(x))
    n_val = int(args.val_size if args.val_size >= 1 else round(args.val_size * len(x)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if args.train_limit is not None:
        try:
            train_idx = train_idx[:hk.data.pipeline.check_train_limit(args.train_limit)]
        except ValueError as err:
            raise SystemExit(str(err)) from None
    print(f"Data: {args.dataset} from {data['source']} ({len(train_idx)} train / "
          f"{len(val_idx)} validation images held out of the training split; "
          f"{len(data['x_test'])} test images kept out of the search)")
    try:
        result = tuning.tune(
            args.family, (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx]),
            preset=args.preset, tuner=args.tuner, max_trials=args.trials, epochs=args.epochs,
            objective=tuning.objective_for(data["hierarchy"], args.objective, args.level),
            adapt_alpha=not args.no_adapt, directory=os.path.join(args.output, "search"),
            seed=args.seed, steps_per_epoch=args.steps_per_epoch,
            overrides=json.loads(args.overrides or "{}"), space=json.loads(args.space or "{}"),
            batch_sizes=[int(b) for b in args.batch_sizes.split(",")], verbose=args.verbose)
    except ValueError as err:
        raise SystemExit(str(err)) from err
    test = evaluate_model(result.model, (data["x_test"], data["y_test"]))
    os.makedirs(args.output, exist_ok=True)
    result.trials.to_csv(os.path.join(args.output, "trials.csv"), index=False)
    alpha = None
    if result.alpha is not None:
        alpha = {k: float(v) for k, v in result.alpha.best.items()}
    best_dir = os.path.join(args.output, "best")
    command = "hier-keras " + " ".join(sys.argv[1:]) if sys.argv else ""
    result.model.save_to_preset(
        best_dir, metrics=test, overwrite=True, dataset=args.dataset, data_source=data["source"], split="test",
        command=command, hyperparameters=result.hyperparameters, objective=result.objective,
        validation=result.validation.iloc[0].to_dict(), alpha=alpha, adapted=result.adapted,
        trials=len(result.trials))
    print(result.trials.to_string(index=False))
    print(f"\nBest hyperparameters ({result.objective}): {json.dumps(result.hyperparameters)}")
    if alpha is not None:
        print(f"Classifier adaptation alpha per level: {alpha} "
              f"({'kept' if result.adapted else 'not kept: no gain'} on the validation split)")
    print(_format_results(test))
    print(f"Saved the best model to {best_dir}")
    return {"result": result, "test": test, "preset_dir": best_dir}


def _format_results(results):
    row = results.iloc[0] if hasattr(results, "iloc") else results
    lines = ["", "metric                 value", "-----------------------------"]
    for key, value in dict(row).items():
        lines.append(f"{key:<22} {100 * value:6.2f} %" if key != "mistake_severity" and value <= 1
                     else f"{key:<22} {value:8.3f}")
    return "\n".join(lines)


def demo(args):
    """The main job: train the default preset on Fashion-MNIST and show what it predicts."""
    import numpy as np

    start = time.time()
    args.family = args.family or DEMO_FAMILY
    args.preset = args.preset or DEMO_PRESET
    args.budget_images = DEMO_IMAGES
    out = train(args)
    model, test_ds = out["model"], out["test_ds"]
    images, labels = next(iter(test_ds.unbatch().batch(6)))
    images, labels = np.asarray(images), np.asarray(labels)
    print("\nA few test images:")
    for path, truth in zip(model.predict_paths(images), labels):
        shown = " > ".join(f"{name} ({p:.2f})" for name, p in path)
        true = " > ".join(model.hierarchy.path_names(truth))
        mark = "ok " if [n for n, _ in path] == model.hierarchy.path_names(truth) else "XX "
        print(f"  {mark}{shown:<60} true: {true}")
    print(f"\nDemo finished in {time.time() - start:.0f} s.")


def evaluate(args):
    import hier_keras as hk
    from hier_keras.metrics import evaluate_model

    model = _load(args.preset, args.family)
    _, test_ds = hk.data.load(args.dataset, batch_size=256, preprocessing=model.preprocessing,
                              hierarchy=model.hierarchy, source=args.source,
                              data_dir=args.data_dir, augment=False)
    results = evaluate_model(model, test_ds)
    print(_format_results(results))
    if args.csv:
        results.to_csv(args.csv, index=False)


def predict(args):
    import numpy as np

    from hier_keras.data import read_images

    model = _load(args.preset, args.family)
    images = read_images(args.images, model.preprocessing["input_shape"])
    for path, row in zip(args.images, model.predict_paths(np.asarray(images))):
        print(f"{path}: " + " > ".join(f"{n} ({p:.2f})" for n, p in row))


def export(args):
    model = _load(args.preset, args.family)
    model.export(args.output)
    print(f"SavedModel written to {args.output}")


def list_presets(args):
    """Print `hier_keras.presets.list_presets()`: each family's built-in presets, then the zoo."""
    from hier_keras import presets

    rows = presets.list_presets()
    family = None
    for row in (r for r in rows if r["kind"] == "architecture"):
        if row["family"] != family:
            family = row["family"]
            print(f"{family}:")
        print(f"  {row['name']:<32} {row['description']}")
    zoo = [r for r in rows if r["kind"] == "zoo"]
    if zoo:
        print("zoo (trained):")
        for row in zoo:
            print(f"  {row['name']:<32} {row['description']}")


def build_parser():
    parser = argparse.ArgumentParser(prog="hier-keras", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p):
        p.add_argument("--dataset", default="fashion_mnist", choices=["fashion_mnist", "cifar100"])
        p.add_argument("--source", default="auto",
                       help="auto (full data if installed, else bundled), full, bundled")
        p.add_argument("--data-dir", default=None)

    for name, fn in (("train", train), ("demo", demo)):
        p = sub.add_parser(name, help=fn.__doc__.split("\n")[0])
        p.add_argument("--family", default=None if name == "demo" else DEMO_FAMILY)
        p.add_argument("--preset", default=None if name == "demo" else DEMO_PRESET)
        p.add_argument("--epochs", type=int, default=None)
        p.add_argument("--batch-size", type=int, default=None)
        p.add_argument("--steps-per-epoch", type=int, default=None)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--output", default=f"runs/{name}")
        p.add_argument("--overrides", default=None, help='JSON constructor overrides, e.g. \'{"head": "single"}\'')
        p.add_argument("--verbose", type=int, default=1)
        p.add_argument("--strategy", default="default",
                       help="tf.distribute strategy: default (one device), mirrored (local "
                            "GPUs), multiworker (hosts from TF_CONFIG)")
        p.add_argument("--mixed-precision", action="store_true",
                       help="mixed_float16 compute (GPUs with tensor cores)")
        p.add_argument("--jit", action="store_true", help="XLA-compile the train step")
        p.add_argument("--backbone", default=None,
                       help="backbone instead of the preset's: a registered name "
                            "(hier-keras presets lists them), keras.applications.<Name> or "
                            "keras_hub:<preset or directory>")
        p.add_argument("--backbone-weights", default=None,
                       help="pretrained backbone weights: a local weights file, or imagenet "
                            "(keras.applications backbones; needs a network)")
        p.add_argument("--freeze-epochs", type=int, default=None,
                       help="fine-tune: train the heads this many epochs on the frozen "
                            "backbone, then everything at --backbone-lr-scale times the rate")
        p.add_argument("--backbone-lr-scale", type=float, default=0.1,
                       help="learning-rate factor once the backbone is unfrozen (default 0.1)")
        p.add_argument("--fine-fraction", type=float, default=None,
                       help="train with partial labels: share of each class that keeps its "
                            "fine label (S_fine); see --coarse-fraction")
        p.add_argument("--coarse-fraction", type=float, default=None,
                       help="share of each class whose finest label is hidden (S_coarse); "
                            "default: the rest of the training split")
        p.add_argument("--val-size", type=float, default=None,
                       help="share (< 1) or number of training images held out for validation; "
                            "default 0.1 for presets with a plateau schedule (MinPoolNet's "
                            "paper presets), else 0 (the test split is only watched); the "
                            "held-out images keep all their labels, whatever --fine-fraction")
        data_args(p)
        p.set_defaults(fn=fn)
    p = sub.add_parser("tune", help=tune.__doc__.split("\n")[0])
    p.add_argument("--family", default=DEMO_FAMILY)
    p.add_argument("--preset", default=None, help="default: the family's small Fashion-MNIST preset")
    p.add_argument("--tuner", default="random", choices=["random", "bayesian", "hyperband"])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--epochs", type=int, default=2, help="epochs per trial")
    p.add_argument("--objective", default="accuracy",
                   choices=["accuracy", "exact_match", "consistency", "loss"])
    p.add_argument("--level", default=None, help="level of --objective accuracy (default: finest)")
    p.add_argument("--batch-sizes", default="32,64,128")
    p.add_argument("--space", default=None,
                   help='JSON narrowing the search, e.g. \'{"units": [64, 128], '
                        '"learning_rate": {"min": 0.01, "max": 0.1}}\'')
    p.add_argument("--overrides", default=None, help="JSON constructor arguments fixed for all trials")
    p.add_argument("--train-limit", type=int, default=None, help="use at most N training images")
    p.add_argument("--val-size", type=float, default=0.1,
                   help="validation images held out of the training split (fraction or count)")
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--no-adapt", action="store_true", help="skip tuning the adaptation alpha")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="runs/tune")
    p.add_argument("--verbose", type=int, default=0)
    data_args(p)
    p.set_defaults(fn=tune)
    p = sub.add_parser("evaluate", help="evaluate a preset on a test split")
    p.add_argument("preset")
    p.add_argument("--family", default=None)
    p.add_argument("--csv", default=None)
    data_args(p)
    p.set_defaults(fn=evaluate)
    p = sub.add_parser("predict", help="predict label paths of image files")
    p.add_argument("preset")
    p.add_argument("images", nargs="+")
    p.add_argument("--family", default=None)
    p.set_defaults(fn=predict)
    p = sub.add_parser("export", help="export a preset as a TF SavedModel")
    p.add_argument("preset")
    p.add_argument("output")
    p.add_argument("--family", default=None)
    p.set_defaults(fn=export)
    p = sub.add_parser("presets", help="list built-in presets and zoo entries")
    p.set_defaults(fn=list_presets)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
