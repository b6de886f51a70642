"""`hier-keras train` (and `demo`'s training): resumable training of any preset."""

from __future__ import annotations

import json
import os
import sys

from hier_keras.cli.common import _format_results, _get_family

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
